package deploy_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trafficctl/trafficctl/internal/localk8s"
)

// TestControllerScraped checks that linkerd-viz's Prometheus scrapes the canary controller's
// trafficctl_canary_* gauges: its scrape job keeps the controller's pods (namespace, labels)
// and their "metrics" port, and that port is the one --metrics-addr serves.
func TestControllerScraped(t *testing.T) {
	values := readValues(t, "linkerd/values/linkerd-viz.yaml")
	jobs, _ := lookup(values, "prometheus", "scrapeConfigs").([]any)
	var job map[string]any
	for _, j := range jobs {
		if m, ok := j.(map[string]any); ok && m["job_name"] == "trafficctl-canary-controller" {
			job = m
		}
	}
	if job == nil {
		t.Fatal("linkerd-viz values: no prometheus.scrapeConfigs job trafficctl-canary-controller")
	}
	objs, err := localk8s.ReadObjects("trafficctl/controller.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dep *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			dep = o
		}
	}
	if dep == nil {
		t.Fatal("trafficctl/controller.yaml: no Deployment")
	}
	labels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	var port string
	for _, p := range c["ports"].([]any) {
		pm := p.(map[string]any)
		if pm["name"] == "metrics" {
			port = fmt.Sprint(pm["containerPort"])
		}
	}
	var metricsAddr string
	for _, a := range c["args"].([]any) {
		if s, ok := a.(string); ok && strings.HasPrefix(s, "--metrics-addr=") {
			metricsAddr = strings.TrimPrefix(s, "--metrics-addr=")
		}
	}
	if port == "" || !strings.HasSuffix(metricsAddr, ":"+port) {
		t.Errorf("controller: --metrics-addr %q is not served on the container port named metrics (%q)", metricsAddr, port)
	}

	// Walk the relabel rules as Prometheus would for one controller pod's metrics port.
	meta := map[string]string{
		"__meta_kubernetes_namespace":                             dep.GetNamespace(),
		"__meta_kubernetes_pod_label_app_kubernetes_io_name":      labels["app.kubernetes.io/name"],
		"__meta_kubernetes_pod_label_app_kubernetes_io_component": labels["app.kubernetes.io/component"],
		"__meta_kubernetes_pod_container_port_name":               "metrics",
		"__meta_kubernetes_pod_name":                              "trafficctl-canary-controller-x",
	}
	sd, _ := lookup(job, "kubernetes_sd_configs").([]any)
	if len(sd) != 1 || lookup(sd[0].(map[string]any), "role") != "pod" {
		t.Fatalf("scrape job: want one kubernetes_sd_config with role pod, got %v", sd)
	}
	names, _ := lookup(sd[0].(map[string]any), "namespaces", "names").([]any)
	if len(names) > 0 && !containsAny(names, dep.GetNamespace()) {
		t.Errorf("scrape job watches namespaces %v, not the controller's %s", names, dep.GetNamespace())
	}
	rules, _ := job["relabel_configs"].([]any)
	if !keeps(rules, meta) {
		t.Errorf("the scrape job's keep rules %v drop the controller's metrics port", rules)
	}
	meta["__meta_kubernetes_pod_label_app_kubernetes_io_component"] = "load"
	if keeps(rules, meta) {
		t.Error("the scrape job also keeps pods that are not the canary controller")
	}
}

// keeps applies the "keep" relabel rules to a target's labels as Prometheus does.
func keeps(rules []any, labels map[string]string) bool {
	for _, r := range rules {
		rm := r.(map[string]any)
		if rm["action"] != "keep" {
			continue
		}
		var vals []string
		for _, l := range rm["source_labels"].([]any) {
			vals = append(vals, labels[l.(string)])
		}
		if !regexp.MustCompile("^(?:" + rm["regex"].(string) + ")$").MatchString(strings.Join(vals, ";")) {
			return false
		}
	}
	return true
}

func containsAny(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
