package verify_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/verify"
)

// namespaceYAML is a secured namespace: a meshed web pod behind a Service, a Server on its port
// with an AuthorizationPolicy, and a route with a catch-all. NS is replaced by the namespace.
const namespaceYAML = `
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
    ports: [{name: linkerd-admin, containerPort: 4191}]
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
  proxyProtocol: HTTP/1
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: callers, namespace: NS}
spec:
  identityRefs: [{kind: ServiceAccount, name: vote-bot}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-http, namespace: NS}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: callers}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: NS}
spec:
  parentRefs: [{group: core, kind: Service, name: web-svc, port: 80}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web-svc, port: 80}]
`

// unmeshedPod is a pod without a proxy; uncoveredService exposes a port no Server covers.
const unmeshedPod = `
apiVersion: v1
kind: Pod
metadata: {name: legacy-1, namespace: NS, labels: {app: legacy}}
spec:
  containers:
  - name: legacy
    image: ghcr.io/buoyantio/emojivoto-web:v11
`

const uncoveredService = `
apiVersion: v1
kind: Service
metadata: {name: web-debug, namespace: NS}
spec:
  selector: {app: web}
  ports: [{name: debug, port: 6060, targetPort: 6060}]
`

func apply(t *testing.T, c *kube.Clients, ns string, docs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, doc := range strings.Split(strings.ReplaceAll(strings.Join(docs, "\n---\n"), "NS", ns), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("fixture: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		if _, err := c.Apply(ctx, &unstructured.Unstructured{Object: m}, kube.ApplyOptions{DryRun: kube.DryRunNone}); err != nil {
			t.Fatal(err)
		}
	}
}

// edge is one series of the fixture's response_total, as an outbound proxy exports it.
type edge struct{ ns, from, dstNS, to, tls, reason string }

// serveMetrics serves the proxies' response_total for edges on 127.0.0.1, growing by 10 on
// every scrape so that increase() over any window sees traffic.
func serveMetrics(t *testing.T, edges []edge) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	rt := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "response_total", Help: "Linkerd proxy responses (fixture)."},
		[]string{"direction", "namespace", "deployment", "dst_namespace", "dst_deployment", "tls", "no_tls_reason", "classification", "status_code"})
	reg.MustRegister(rt)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, e := range edges {
			rt.WithLabelValues("outbound", e.ns, e.from, e.dstNS, e.to, e.tls, e.reason, "success", "200").Add(10)
		}
		metrics.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// TestRunLive verifies real namespaces on the test API server, with the proxies' metrics in a
// real Prometheus: a secured namespace passes, and an unmeshed pod, a plaintext edge and an
// uncovered port each fail with their own finding.
func TestRunLive(t *testing.T) {
	env := testenv.Require(t)
	secured, unmeshed, plaintext, uncovered := env.Namespace(t), env.Namespace(t), env.Namespace(t), env.Namespace(t)
	c := env.Clients(t, "")
	apply(t, c, secured, namespaceYAML)
	apply(t, c, unmeshed, namespaceYAML, unmeshedPod)
	apply(t, c, plaintext, namespaceYAML)
	apply(t, c, uncovered, namespaceYAML, uncoveredService)

	addr := serveMetrics(t, []edge{
		{secured, "vote-bot", secured, "web", "true", ""},
		{unmeshed, "vote-bot", unmeshed, "web", "true", ""},
		{plaintext, "vote-bot", plaintext, "web", "true", ""},
		{plaintext, "web", plaintext, "emoji", "no_identity", "not_provided_by_service_discovery"},
		{uncovered, "vote-bot", uncovered, "web", "true", ""},
	})
	prom := testenv.StartPrometheus(t, testenv.PromConfig{Targets: []string{addr}, Interval: time.Second})
	client, err := promapi.NewClient(promapi.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(client)
	waitForEdges(t, api, plaintext, 2)

	for _, tc := range []struct {
		name, ns string
		want     []string // finding prefixes "check: object"
	}{
		{"secured namespace passes", secured, nil},
		{"unmeshed pod", unmeshed, []string{"unmeshed: Pod/legacy-1"}},
		{"plaintext edge", plaintext, []string{fmt.Sprintf("plaintext-edge: %s/web -> %s/emoji", plaintext, plaintext)}},
		{"uncovered port", uncovered, []string{"uncovered-port: Service/web-debug port 6060/debug"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r, err := verify.Run(ctx, env.Clients(t, tc.ns), verify.Options{Namespace: tc.ns, Prometheus: api, Window: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if !r.TLSChecked || r.Edges == 0 || r.Pods == 0 || r.Routes != 1 {
				t.Errorf("report %+v: want the mTLS check run over some edges, pods and one route", r)
			}
			if len(r.Findings) != len(tc.want) {
				t.Fatalf("findings = %v, want %v", r.Findings, tc.want)
			}
			for i, f := range r.Findings {
				if !strings.HasPrefix(f.String(), tc.want[i]+": ") {
					t.Errorf("finding %d = %q, want prefix %q", i, f, tc.want[i])
				}
				t.Logf("%s", f)
			}
		})
	}
}

// waitForEdges polls until Prometheus has scraped the fixture twice (increase() needs two
// samples) and the namespace shows n edges.
func waitForEdges(t *testing.T, api promv1.API, ns string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := verify.EdgeTLS(ctx, api, ns, time.Minute)
		cancel()
		if err == nil && r.Edges >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus shows no edges for %s after 30s (last error: %v)", ns, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
