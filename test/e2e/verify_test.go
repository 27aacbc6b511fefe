package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

const securedNamespace = `
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: NS, labels: {app: web}}
spec:
  containers:
  - name: web
    image: ghcr.io/buoyantio/emojivoto-web:v11
    ports: [{name: http, containerPort: 8080}]
  - name: linkerd-proxy
    image: cr.l5d.io/linkerd/proxy:edge-26.8.1
---
apiVersion: v1
kind: Service
metadata: {name: web-svc, namespace: NS}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: NS}
spec:
  podSelector: {matchLabels: {app: web}}
  port: http
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-http, namespace: NS}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: [{kind: ServiceAccount, name: vote-bot}]
`

func applyDocs(t *testing.T, c *kube.Clients, ns, docs string) {
	t.Helper()
	for _, doc := range strings.Split(strings.ReplaceAll(docs, "NS", ns), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Apply(context.Background(), &unstructured.Unstructured{Object: m}, kube.ApplyOptions{DryRun: kube.DryRunNone}); err != nil {
			t.Fatal(err)
		}
	}
}

// startProxyMetrics serves response_total for one mTLS edge and one plaintext edge, growing on
// every scrape.
func startProxyMetrics(t *testing.T, ns string) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	rt := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "response_total", Help: "fixture"},
		[]string{"direction", "namespace", "deployment", "dst_namespace", "dst_deployment", "tls"})
	reg.MustRegister(rt)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt.WithLabelValues("outbound", ns, "vote-bot", ns, "web", "true").Add(5)
		rt.WithLabelValues("outbound", ns, "web", "other", "legacy", "no_identity").Add(5)
		h.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// TestVerifyCLI runs `trafficctl verify` as a user does: exit 0 and a summary on a secured
// namespace, exit 3 and one line per finding otherwise, exit 2 on bad flags.
func TestVerifyCLI(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t)
	applyDocs(t, env.Clients(t, ""), ns, securedNamespace)

	code, out, errOut := runCLI(t, "verify", "--kubeconfig", env.Kubeconfig, "-n", ns)
	if code != cli.ExitOK || !strings.Contains(out, fmt.Sprintf("namespace %s: 1 pods, 1 Services, 0 routes", ns)) || !strings.Contains(errOut, "mTLS of edges not checked") {
		t.Fatalf("secured: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	t.Logf("secured namespace, no --prometheus:\n%s%s", out, errOut)

	prom := testenv.StartPrometheus(t, testenv.PromConfig{Targets: []string{startProxyMetrics(t, ns)}, Interval: time.Second})
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out, errOut = runCLI(t, "verify", "--kubeconfig", env.Kubeconfig, "-n", ns, "--prometheus", prom.URL, "--window", "1m")
		if code != cli.ExitOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second) // Prometheus needs two scrapes before increase() sees traffic
	}
	wantLine := fmt.Sprintf("plaintext-edge: %s/web -> other/legacy: ", ns)
	if code != cli.ExitCheckFailed || !strings.HasPrefix(out, wantLine) || !strings.Contains(errOut, "1 findings") {
		t.Fatalf("plaintext edge: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	t.Logf("plaintext edge:\n%s%s", out, errOut)

	code, out, _ = runCLI(t, "verify", "--kubeconfig", env.Kubeconfig, "-n", ns, "--prometheus", prom.URL, "-o", "json")
	var report struct {
		Namespace string
		Edges     int
		Findings  []struct{ Check, Object, Message string }
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != cli.ExitCheckFailed || report.Edges != 2 || len(report.Findings) != 1 || report.Findings[0].Check != "plaintext-edge" {
		t.Errorf("json: exit %d, err %v, report %+v\n%s", code, err, report, out)
	}

	for _, tc := range []struct{ name, flag, value, want string }{
		{"bad prometheus URL", "--prometheus", "127.0.0.1:9090", "invalid --prometheus"},
		{"window too short", "--window", "1s", "invalid --window"},
		{"bad output", "-o", "xml", "invalid value \"xml\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "verify", "--kubeconfig", env.Kubeconfig, "-n", ns, tc.flag, tc.value)
			if code != cli.ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}
