package deploy_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/dashboards"
)

const observabilityDir = "linkerd/observability"

// find returns the one object of kind and name in objs, failing the test when it is missing.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// servicePort checks that host:port names a Service of objs (by its in-cluster DNS name) and
// one of its ports.
func servicePort(t *testing.T, objs []*unstructured.Unstructured, what, hostport string) {
	t.Helper()
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Errorf("%s %q: %v", what, hostport, err)
		return
	}
	name, ns, _ := strings.Cut(strings.TrimSuffix(host, ".svc.cluster.local"), ".")
	svc := find(t, objs, "Service", name)
	if svc.GetNamespace() != ns {
		t.Errorf("%s %q: Service %s is in namespace %q", what, hostport, name, svc.GetNamespace())
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	for _, p := range ports {
		if fmt.Sprint(p.(map[string]any)["port"]) == port {
			return
		}
	}
	t.Errorf("%s %q: Service %s/%s has no port %s", what, hostport, ns, name, port)
}

// collectorConfig parses the collector's configuration out of its ConfigMap.
func collectorConfig(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	t.Helper()
	data, _, _ := unstructured.NestedString(find(t, objs, "ConfigMap", "otel-collector").Object, "data", "config.yaml")
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(data), &cfg); err != nil {
		t.Fatalf("otel-collector config.yaml: %v", err)
	}
	return cfg
}

// TestObservabilityRender builds the tracing and log pipeline, checks every image is the
// version pinned in versions.env, and server-side dry-run applies it to the real API server.
func TestObservabilityRender(t *testing.T) {
	objs := kustomizeBuild(t, observabilityDir)
	v := versions(t)
	want := map[string]string{
		"otel/opentelemetry-collector-contrib": v["OTEL_COLLECTOR_VERSION"],
		"jaegertracing/jaeger":                 v["JAEGER_VERSION"],
		"grafana/loki":                         v["LOKI_VERSION"],
	}
	imgs := images(objs)
	if len(imgs) != len(want) {
		t.Errorf("images %v, want one each of %v", imgs, want)
	}
	for _, img := range imgs {
		repo, tag, _ := strings.Cut(img, ":")
		if w, ok := want[repo]; !ok || tag != w || w == "" {
			t.Errorf("image %q: want %s:%s from versions.env", img, repo, w)
		}
	}
	ns := find(t, objs, "Namespace", "observability")
	if ns.GetAnnotations()["linkerd.io/inject"] != "enabled" {
		t.Errorf("namespace observability is not meshed: proxies send spans only to a meshed collector")
	}
	env := testenv.Require(t)
	dryRunApply(t, env, objs)
}

// TestTracingWired checks the pieces of the trace and log pipelines name each other: the
// proxies' collector endpoint and mesh identity are the collector's Service and
// ServiceAccount, the collector receives OTLP/gRPC on that port and exports to the Jaeger and
// Loki Services, and it tails the proxies' logs from the host path it mounts.
func TestTracingWired(t *testing.T) {
	objs := kustomizeBuild(t, observabilityDir)
	cp := readValues(t, "linkerd/values/linkerd-control-plane.yaml")
	if lookup(cp, "proxy", "tracing", "enabled") != true {
		t.Fatal("proxy tracing is not enabled in values/linkerd-control-plane.yaml")
	}
	endpoint, _ := lookup(cp, "proxy", "tracing", "collector", "endpoint").(string)
	servicePort(t, objs, "proxy.tracing.collector.endpoint", endpoint)
	ds := find(t, objs, "DaemonSet", "otel-collector")
	sa, _, _ := unstructured.NestedString(ds.Object, "spec", "template", "spec", "serviceAccountName")
	if got := lookup(cp, "proxy", "tracing", "collector", "meshIdentity", "serviceAccountName"); got != sa {
		t.Errorf("meshIdentity.serviceAccountName %v, the collector runs as %q", got, sa)
	}
	if got := lookup(cp, "proxy", "tracing", "collector", "meshIdentity", "namespace"); got != ds.GetNamespace() {
		t.Errorf("meshIdentity.namespace %v, the collector runs in %q", got, ds.GetNamespace())
	}

	cfg := collectorConfig(t, objs)
	_, port, _ := net.SplitHostPort(endpoint)
	if got, _ := lookup(cfg, "receivers", "otlp", "protocols", "grpc", "endpoint").(string); !strings.HasSuffix(got, ":"+port) {
		t.Errorf("collector's OTLP/gRPC receiver listens on %q, the proxies send to port %s", got, port)
	}
	// Apps exporting their own spans (internal/sandbox/tracing) use OTLP/HTTP through the Service.
	if got, _ := lookup(cfg, "receivers", "otlp", "protocols", "http", "endpoint").(string); got != "" {
		_, httpPort, _ := net.SplitHostPort(got)
		host, _, _ := net.SplitHostPort(endpoint)
		servicePort(t, objs, "collector's OTLP/HTTP receiver", net.JoinHostPort(host, httpPort))
	}
	jaeger, _ := lookup(cfg, "exporters", "otlp/jaeger", "endpoint").(string)
	servicePort(t, objs, "collector's Jaeger exporter", jaeger)
	loki, err := url.Parse(lookup(cfg, "exporters", "otlphttp/loki", "endpoint").(string))
	if err != nil || loki.Path != "/otlp" {
		t.Errorf("collector's Loki exporter %v: want Loki's OTLP path /otlp (%v)", loki, err)
	} else {
		servicePort(t, objs, "collector's Loki exporter", loki.Host)
	}
	for pipeline, exporter := range map[string]string{"traces": "otlp/jaeger", "logs": "otlphttp/loki"} {
		got, _ := lookup(cfg, "service", "pipelines", pipeline, "exporters").([]any)
		if len(got) != 1 || got[0] != exporter {
			t.Errorf("%s pipeline exports to %v, want [%s]", pipeline, got, exporter)
		}
	}
	include, _ := lookup(cfg, "receivers", "filelog", "include").([]any)
	if len(include) != 1 || !strings.HasSuffix(include[0].(string), "/linkerd-proxy/*.log") {
		t.Errorf("filelog include %v: want the linkerd-proxy containers' logs", include)
	}
	vols, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "volumes")
	var mounted bool
	for _, v := range vols {
		p, _, _ := unstructured.NestedString(v.(map[string]any), "hostPath", "path")
		mounted = mounted || (p != "" && strings.HasPrefix(include[0].(string), p+"/"))
	}
	if !mounted {
		t.Errorf("the collector does not mount the host path of %v", include)
	}
}

// containerAttributes are the resource attributes the filelog receiver's container operator
// sets from a pod log's path.
var containerAttributes = []string{"k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.container.name", "k8s.container.restart_count"}

var streamLabel = regexp.MustCompile(`(\w+)=`)

// TestEdgeLinksFindData checks the edges dashboard's log and trace links ask for attributes
// the collector really attaches: Loki turns a resource attribute such as k8s.deployment.name
// into the index label k8s_deployment_name.
func TestEdgeLinksFindData(t *testing.T) {
	cfg := collectorConfig(t, kustomizeBuild(t, observabilityDir))
	attrs := slices.Clone(containerAttributes)
	extracted, _ := lookup(cfg, "processors", "k8sattributes", "extract", "metadata").([]any)
	for _, a := range extracted {
		attrs = append(attrs, a.(string))
	}
	selector, _, _ := strings.Cut(dashboards.EdgeLogsQuery, "}")
	labels := streamLabel.FindAllStringSubmatch(selector, -1)
	if len(labels) == 0 {
		t.Fatalf("no stream labels in %s", dashboards.EdgeLogsQuery)
	}
	for _, l := range labels {
		if !slices.ContainsFunc(attrs, func(a string) bool { return strings.ReplaceAll(a, ".", "_") == l[1] }) {
			t.Errorf("logs link selects %s, which no collector attribute (%v) becomes", l[1], attrs)
		}
	}
	key, _, _ := strings.Cut(dashboards.EdgeTracesTags, "=")
	if !slices.Contains(attrs, key) {
		t.Errorf("traces link searches tag %s, which the collector does not add (%v)", key, attrs)
	}
	for _, p := range []string{"logs", "traces"} {
		procs, _ := lookup(cfg, "service", "pipelines", p, "processors").([]any)
		if !slices.Contains(procs, any("k8sattributes")) {
			t.Errorf("%s pipeline does not run k8sattributes: its data would carry no Deployment", p)
		}
	}
}

// TestProxyTracingRender renders the control plane and checks the injected proxies (the
// control plane's own) get the collector's address and identity.
func TestProxyTracingRender(t *testing.T) {
	helm := helmBinary(t)
	charts := chartsDir(t)
	certs := genCerts(t)
	cp := readValues(t, "linkerd/values/linkerd-control-plane.yaml")
	want := map[string]string{
		"LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR": lookup(cp, "proxy", "tracing", "collector", "endpoint").(string),
		"LINKERD2_PROXY_TRACE_COLLECTOR_SVC_NAME": "otel-collector.observability.serviceaccount.identity.linkerd.cluster.local",
		"LINKERD2_PROXY_TRACE_PROTOCOL":           "opentelemetry",
	}
	var proxies int
	for _, o := range helmTemplate(t, helm, charts, releases(t, certs)[1]) {
		if o.GetKind() != "Deployment" {
			continue
		}
		for _, key := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", key)
			for _, c := range cs {
				c := c.(map[string]any)
				if c["name"] != "linkerd-proxy" {
					continue
				}
				proxies++
				got := map[string]string{}
				env, _ := c["env"].([]any)
				for _, e := range env {
					e := e.(map[string]any)
					if s, ok := e["value"].(string); ok {
						got[e["name"].(string)] = s
					}
				}
				for k, w := range want {
					if got[k] != w {
						t.Errorf("%s proxy %s = %q, want %q", o.GetName(), k, got[k], w)
					}
				}
			}
		}
	}
	if proxies == 0 {
		t.Fatal("no linkerd-proxy container rendered")
	}
}

// TestGrafanaDatasources checks Grafana's datasources reach the Services they name, link
// logs to traces and back, and cover every datasource uid the generated dashboards use.
func TestGrafanaDatasources(t *testing.T) {
	values := readValues(t, "linkerd/grafana/values.yaml")
	list, _ := lookup(values, "datasources", "datasources.yaml", "datasources").([]any)
	uids := map[string]map[string]any{}
	for _, d := range list {
		d := d.(map[string]any)
		uids[d["uid"].(string)] = d
	}
	obs := kustomizeBuild(t, observabilityDir)
	for uid, typ := range map[string]string{"prometheus": "prometheus", "loki": "loki", "jaeger": "jaeger"} {
		d, ok := uids[uid]
		if !ok || d["type"] != typ {
			t.Errorf("no %s datasource with uid %q", typ, uid)
			continue
		}
		if uid == "prometheus" {
			continue
		}
		u, err := url.Parse(d["url"].(string))
		if err != nil {
			t.Errorf("%s url: %v", uid, err)
			continue
		}
		servicePort(t, obs, uid+" datasource", u.Host)
	}
	fields, _ := lookup(uids["loki"], "jsonData", "derivedFields").([]any)
	if len(fields) != 1 || fields[0].(map[string]any)["datasourceUid"] != "jaeger" {
		t.Errorf("loki derivedFields %v: want the trace_id linked to the jaeger datasource", fields)
	}
	if got := lookup(uids["jaeger"], "jsonData", "tracesToLogsV2", "datasourceUid"); got != "loki" {
		t.Errorf("jaeger tracesToLogsV2 datasource %v, want loki", got)
	}

	files, err := filepath.Glob("linkerd/grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated dashboards: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, uid := range datasourceUIDs(m) {
			if _, ok := uids[uid]; !ok && !strings.HasPrefix(uid, "-- ") {
				t.Errorf("%s uses datasource uid %q, which Grafana's values do not provision", f, uid)
			}
		}
	}
}

// datasourceUIDs walks dashboard JSON for every datasource reference's uid.
func datasourceUIDs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if ds, ok := v["datasource"].(map[string]any); ok {
			if uid, ok := ds["uid"].(string); ok {
				out = append(out, uid)
			}
		}
		if uid, ok := v["datasourceUid"].(string); ok {
			out = append(out, uid)
		}
		for _, c := range v {
			out = append(out, datasourceUIDs(c)...)
		}
	case []any:
		for _, c := range v {
			out = append(out, datasourceUIDs(c)...)
		}
	}
	return out
}

// TestEmojivotoAccessLogs requires JSON proxy access logs on every workload of every
// emojivoto kustomization: the log pipeline and the edges dashboard's log links read them.
func TestEmojivotoAccessLogs(t *testing.T) {
	for _, dir := range kustomizations(t, "emojivoto") {
		t.Run(testName(dir), func(t *testing.T) {
			for _, o := range kustomizeBuild(t, dir) {
				if o.GetKind() != "Deployment" {
					continue
				}
				got, _, _ := unstructured.NestedString(o.Object, "spec", "template", "metadata", "annotations", "config.linkerd.io/access-log")
				if got != "json" {
					t.Errorf("Deployment %s: config.linkerd.io/access-log %q, want json", o.GetName(), got)
				}
			}
		})
	}
}
