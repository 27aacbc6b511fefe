package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const profileYAML = `apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {name: web-svc.emojivoto.svc.cluster.local, namespace: emojivoto}
spec:
  routes:
  - name: GET /api/list
    condition: {method: GET, pathRegex: /api/list}
    isRetryable: true
    timeout: 300ms
  - name: GET /api/vote
    condition: {method: GET, pathRegex: /api/vote}
    responseClasses:
    - condition: {status: {min: 400, max: 499}}
      isFailure: true
  - name: complex
    condition: {any: [{method: GET}]}
  retryBudget: {retryRatio: 0.5, minRetriesPerSecond: 100, ttl: 10s}
`

func profile(t testing.TB, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func TestProfilePolicy(t *testing.T) {
	p, warnings, err := ProfilePolicy(profile(t, profileYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Routes) != 2 || len(warnings) != 1 || !strings.Contains(warnings[0], "complex") {
		t.Fatalf("routes %d, warnings %v", len(p.Routes), warnings)
	}
	if p.Budget != (RetryBudget{0.5, 100, 10 * time.Second}) {
		t.Errorf("budget = %+v", p.Budget)
	}
	for _, tc := range []struct {
		method, path string
		want         string
	}{
		{"GET", "/api/list", "GET /api/list"},
		{"POST", "/api/list", ""},
		{"GET", "/api/list/x", ""},
		{"GET", "/api/vote", "GET /api/vote"},
	} {
		r := p.route(httptest.NewRequest(tc.method, tc.path, nil))
		if r.Name != tc.want {
			t.Errorf("%s %s: route %q, want %q", tc.method, tc.path, r.Name, tc.want)
		}
	}
	vote := p.Routes[1]
	if !vote.failed(404) || !vote.failed(503) || vote.failed(200) {
		t.Error("vote response classes: 4xx and 5xx should fail, 2xx not")
	}
	if _, _, err := ProfilePolicy(profile(t, strings.Replace(profileYAML, "300ms", "soon", 1))); err == nil {
		t.Error("bad timeout accepted")
	}
}

func TestAnnotationPolicy(t *testing.T) {
	p, err := AnnotationPolicy("Service emojivoto/web-svc", map[string]string{
		AnnotationRetryHTTP: "gateway-error,429", AnnotationRetryLimit: "3", AnnotationTimeoutRequest: "2s",
		AnnotationAccrual: "consecutive", AnnotationAccrualMaxFailures: "2", AnnotationAccrualMinPenalty: "100ms"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Default.Retries != 3 || p.Default.Timeout != 2*time.Second {
		t.Errorf("default route %+v", p.Default)
	}
	if !p.Default.failed(503) || !p.Default.failed(429) || p.Default.failed(500) {
		t.Error("retry.linkerd.io/http gateway-error,429: 503 and 429 retry, 500 does not")
	}
	if p.Accrual != (Accrual{2, 100 * time.Millisecond, time.Minute}) {
		t.Errorf("accrual %+v", p.Accrual)
	}
	for name, ann := range map[string]map[string]string{
		"bad retry":    {AnnotationRetryHTTP: "6xx"},
		"bad range":    {AnnotationRetryHTTP: "504-500"},
		"bad limit":    {AnnotationRetryHTTP: "5xx", AnnotationRetryLimit: "-1"},
		"bad timeout":  {AnnotationTimeoutRequest: "1 second"},
		"bad failures": {AnnotationAccrual: "consecutive", AnnotationAccrualMaxFailures: "0"},
	} {
		if _, err := AnnotationPolicy("x", ann); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzAnnotationPolicy(f *testing.F) {
	for _, s := range []string{"5xx", "gateway-error", "500-504,429", "", "1-2-3", "599"} {
		f.Add(s, "2", "1s")
	}
	f.Fuzz(func(t *testing.T, retry, limit, timeout string) {
		p, err := AnnotationPolicy("fuzz", map[string]string{AnnotationRetryHTTP: retry, AnnotationRetryLimit: limit, AnnotationTimeoutRequest: timeout})
		if err != nil {
			return
		}
		if p.Default.Retries < 0 || p.Default.Timeout < 0 {
			t.Fatalf("accepted %q %q %q as %+v", retry, limit, timeout, p.Default)
		}
		if retry != "" && p.Default.failed(99) {
			t.Fatalf("retry.linkerd.io/http %q retries status 99", retry)
		}
	})
}

func policyProxy(t *testing.T, pol *Policy, replicas ...string) (*Proxy, *httptest.Server) {
	t.Helper()
	p, err := NewProxy(ProxyConfig{Namespace: "emojivoto", Client: "vote-bot",
		Upstreams: []Upstream{{Service: "web-v1", Deployment: "web-v1", Replicas: replicas}},
		Split:     (&splitHolder{}).get, Policy: func(context.Context) (*Policy, error) { return pol, nil }, Balance: BalanceRoundRobin})
	if err != nil {
		t.Fatal(err)
	}
	p.refresh(context.Background())
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Retries go to another replica: with one of two replicas broken, a retryable route never fails.
func TestRetriesAndTimeouts(t *testing.T) {
	good, bad := backend(t, 0, 200), backend(t, 0, 500)
	slow := backend(t, time.Second, 200)
	pol, _, err := ProfilePolicy(profile(t, profileYAML))
	if err != nil {
		t.Fatal(err)
	}
	_, srv := policyProxy(t, pol, addr(good), addr(bad))
	for i := range 20 {
		if c := status(t, srv.URL+"/api/list"); c != 200 {
			t.Fatalf("retryable request %d: status %d", i, c)
		}
	}
	if bad.hits.Load() == 0 {
		t.Error("broken replica never tried")
	}
	failures := 0
	for range 20 {
		if status(t, srv.URL+"/api/leaderboard") != 200 {
			failures++
		}
	}
	if failures == 0 {
		t.Error("route without retries never failed on the broken replica")
	}

	_, srvSlow := policyProxy(t, pol, addr(slow))
	start := time.Now()
	if c := status(t, srvSlow.URL+"/api/list"); c != http.StatusGatewayTimeout {
		t.Errorf("slow replica past the 300ms timeout: status %d, want 504", c)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Errorf("timeout took %s", d)
	}
}

// Failure accrual: a replica failing twice in a row gets no traffic during its penalty.
func TestFailureAccrual(t *testing.T) {
	good := backend(t, 0, 200)
	var badHits atomic.Int64
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		badHits.Add(1)
		w.WriteHeader(503)
	}))
	t.Cleanup(bad.Close)
	pol := &Policy{Budget: DefaultRetryBudget, Accrual: Accrual{MaxFailures: 2, MinPenalty: time.Minute, MaxPenalty: time.Hour}}
	_, srv := policyProxy(t, pol, addr(good), strings.TrimPrefix(bad.URL, "http://"))
	for range 40 {
		status(t, srv.URL+"/")
	}
	if n := badHits.Load(); n != 2 {
		t.Errorf("broken replica got %d requests, want 2 (then ejected for a minute)", n)
	}
}
