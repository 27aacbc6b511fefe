package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/ociimage"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	corev1 "k8s.io/api/core/v1"
)

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args)
	return code, out.String(), errOut.String()
}

// webObjects is the demo app's web (one replica of the given image) behind web-svc:80.
func webObjects(t *testing.T, ns, image string) []*unstructured.Unstructured {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
      - name: web
        image: %[2]s
        imagePullPolicy: Never
        args: [web]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: web-svc, namespace: %[1]s}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`, ns, image)
	var objs []*unstructured.Unstructured
	for _, d := range strings.Split(doc, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	return objs
}

// `load job --apply` with its defaults (the image of this binary's version, the loadtest
// ServiceAccount) runs attacker pods to completion against a Service, by its DNS name through
// kube-proxy, and `load collect` merges the reports it reads from the pods' real logs.
func TestLoadJobRunsAndCollects(t *testing.T) {
	env := testenv.RequireNode(t)
	ns := env.NodeNamespace(t)
	c := env.Clients(t, ns)
	apply(t, c, webObjects(t, ns, ociimage.DemoImage("web", env.Node.Tag)))
	waitPods(t, c, ns, "app=web", "web Ready", podLimit, func(p []corev1.Pod) bool { return countReady(p) == 1 })
	// A Ready pod is not yet a reachable Service: wait until kube-proxy routes the ClusterIP, as
	// the attackers (one try each: the Job's backoffLimit is 0) would otherwise race it.
	svc, err := c.Kube.CoreV1().Services(ns).Get(context.Background(), "web-svc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	probe := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	testenv.WaitFor(t, podLimit, "web-svc's ClusterIP answering", func(ctx context.Context) (bool, error) {
		resp, err := probe.Get(fmt.Sprintf("http://%s/healthz", svc.Spec.ClusterIP))
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})

	sc := filepath.Join(t.TempDir(), "scenario.yaml")
	scenario := fmt.Sprintf(`name: node-smoke
targets:
  - {name: version, url: "http://web-svc.%s/api/version"}
stages:
  - {type: constant, rate: 20, duration: 3s}
`, ns)
	if err := os.WriteFile(sc, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--kubeconfig", env.Kubeconfig, "-n", ns}
	code, stdout, stderr := runCLI(append(base, "load", "job", sc, "--name", "loadtest-node-smoke", "--replicas", "2", "--apply")...)
	if code != cli.ExitOK || !strings.Contains(stdout, "job/loadtest-node-smoke applied") {
		t.Fatalf("load job --apply: exit %d stdout %q stderr %q", code, stdout, stderr)
	}

	deadline := time.Now().Add(finishLimit)
	for {
		code, stdout, stderr = runCLI(append(base, "load", "collect", "loadtest-node-smoke", "-o", "json")...)
		if code != cli.ExitUndecided {
			break
		}
		if time.Now().After(deadline) {
			pods, _ := c.Kube.CoreV1().Pods(ns).List(context.Background(), listAll)
			t.Fatalf("load job not finished after %s: %s; pods: %s", finishLimit, stderr, testenv.PodSummary(pods.Items))
		}
		time.Sleep(time.Second)
	}
	if code != cli.ExitOK {
		logTail(t, c, ns, "batch.kubernetes.io/job-name=loadtest-node-smoke")
		t.Fatalf("load collect: exit %d stderr %q stdout:\n%s", code, stderr, stdout)
	}
	var res struct {
		Replicas int `json:"replicas"`
		Report   struct {
			Requests    uint64         `json:"requests"`
			Success     float64        `json:"success"`
			StatusCodes map[string]int `json:"status_codes"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("collect output: %v\n%s", err, stdout)
	}
	// 2 attackers x 20/s x 3 s; every request answered 200 by web through the Service.
	if res.Replicas != 2 || res.Report.Requests != 120 || res.Report.StatusCodes["200"] != 120 {
		t.Fatalf("merged report: replicas %d, requests %d, status codes %v; want 2, 120, all 200", res.Replicas, res.Report.Requests, res.Report.StatusCodes)
	}
}
