package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/pkg/split"
)

type fakeBackend struct {
	srv   *httptest.Server
	hits  atomic.Int64
	delay time.Duration
	code  int
}

func backend(t *testing.T, delay time.Duration, code int) *fakeBackend {
	b := &fakeBackend{delay: delay, code: code}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		time.Sleep(b.delay)
		w.WriteHeader(b.code)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func addr(b *fakeBackend) string { return strings.TrimPrefix(b.srv.URL, "http://") }

type splitHolder struct {
	mu sync.Mutex
	s  *split.Split
}

func (h *splitHolder) get(context.Context) (*split.Split, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.s == nil {
		return nil, split.ErrNotFound
	}
	return h.s, nil
}

func newTestProxy(t *testing.T, h *splitHolder, bal Balance, ups ...Upstream) (*Proxy, *httptest.Server) {
	p, err := NewProxy(ProxyConfig{Namespace: "emojivoto", Client: "vote-bot", Upstreams: ups, Split: h.get, Balance: bal})
	if err != nil {
		t.Fatal(err)
	}
	p.refresh(context.Background())
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv
}

func send(t *testing.T, url string, n int, header map[string]string) {
	t.Helper()
	for range n {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func TestProxyFollowsSplit(t *testing.T) {
	v1, v2 := backend(t, 0, 200), backend(t, 0, 500)
	h := &splitHolder{}
	p, srv := newTestProxy(t, h, BalanceEWMA,
		Upstream{Service: "web-v1", Deployment: "web-v1", Replicas: []string{addr(v1)}},
		Upstream{Service: "web-v2", Deployment: "web-v2", Replicas: []string{addr(v2)}})

	send(t, srv.URL, 20, nil)
	if v1.hits.Load() != 20 || v2.hits.Load() != 0 {
		t.Fatalf("no split: v1 %d v2 %d, want all to the first upstream", v1.hits.Load(), v2.hits.Load())
	}
	h.s = &split.Split{Backends: []split.Backend{{Service: "web-v1", Weight: 0}, {Service: "web-v2", Weight: 100}},
		Rules: []split.RuleSplit{
			{Rule: 0, Match: "PathPrefix /", Backends: []split.Backend{{Service: "web-v1", Weight: 0}, {Service: "web-v2", Weight: 100}}},
			{Rule: 1, Match: "PathPrefix /, header x-canary=v1", Header: &split.HeaderMatch{Name: "x-canary", Value: "v1"}, Backends: []split.Backend{{Service: "web-v1", Weight: 1}}}}}
	p.refresh(context.Background())
	send(t, srv.URL, 10, nil)
	if v2.hits.Load() != 10 {
		t.Errorf("v2 got %d of 10 at weight 100", v2.hits.Load())
	}
	send(t, srv.URL, 5, map[string]string{"x-canary": "v1"})
	if v1.hits.Load() != 25 {
		t.Errorf("header route: v1 got %d, want 25", v1.hits.Load())
	}

	rec := httptest.NewRecorder()
	p.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`response_total{authority="",classification="failure",deployment="web-v2",direction="inbound",dst_deployment="",dst_namespace="",grpc_status="",namespace="emojivoto",pod="web-v2-0",status_code="500",tls="true"} 10`,
		`response_total{authority="",classification="success",deployment="vote-bot",direction="outbound",dst_deployment="web-v1",dst_namespace="emojivoto",grpc_status="",namespace="emojivoto",pod="",status_code="200",tls="true"} 25`,
		`request_total{authority="",deployment="vote-bot",direction="outbound",dst_deployment="web-v1",dst_namespace="emojivoto",namespace="emojivoto",pod="",tls="true"} 25`,
		`response_latency_ms_bucket{authority="",deployment="web-v1",direction="inbound"`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestRulePrecedence: the longest path match wins whatever the rules' order; a request no rule
// matches gets 404, as from Linkerd once HTTPRoutes attach to a Service.
func TestRulePrecedence(t *testing.T) {
	v1, v2 := backend(t, 0, 200), backend(t, 0, 200)
	h := &splitHolder{s: &split.Split{Rules: []split.RuleSplit{
		{Rule: 0, Match: "PathPrefix /api", Backends: []split.Backend{{Service: "web-v2", Weight: 1}}},
		{Rule: 1, Match: "Exact /api/vote, GET", Backends: []split.Backend{{Service: "web-v1", Weight: 1}}},
		{Rule: 2, Match: "PathPrefix /api/leaderboard | RegularExpression /admin/.*", Backends: []split.Backend{{Service: "web-v1", Weight: 1}}},
	}}}
	_, srv := newTestProxy(t, h, BalanceEWMA,
		Upstream{Service: "web-v1", Deployment: "web-v1", Replicas: []string{addr(v1)}},
		Upstream{Service: "web-v2", Deployment: "web-v2", Replicas: []string{addr(v2)}})
	for _, tc := range []struct {
		path   string
		want   *fakeBackend
		status int
	}{
		{"/api/list", v2, 200},
		{"/api/vote", v1, 200},
		{"/api/leaderboard/top", v1, 200},
		{"/admin/x", v1, 200},
		{"/apix", nil, 404},
		{"/", nil, 404},
	} {
		before1, before2 := v1.hits.Load(), v2.hits.Load()
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		got := map[bool]*fakeBackend{v1.hits.Load() > before1: v1, v2.hits.Load() > before2: v2}[true]
		if got != tc.want {
			t.Errorf("%s: answered by the wrong version", tc.path)
		}
	}
}

// TestBalancing: with one of three replicas slow, EWMA sends it a small share; round robin a third.
func TestBalancing(t *testing.T) {
	for _, tc := range []struct {
		bal      Balance
		min, max float64
	}{
		{BalanceRoundRobin, 0.30, 0.37},
		{BalanceEWMA, 0, 0.12},
	} {
		t.Run(string(tc.bal), func(t *testing.T) {
			fast1, fast2, slow := backend(t, 0, 200), backend(t, 0, 200), backend(t, 30*time.Millisecond, 200)
			_, srv := newTestProxy(t, &splitHolder{}, tc.bal,
				Upstream{Service: "web-v1", Deployment: "web-v1", Replicas: []string{addr(fast1), addr(slow), addr(fast2)}})
			send(t, srv.URL, 150, nil)
			share := float64(slow.hits.Load()) / 150
			if share < tc.min || share > tc.max {
				t.Errorf("slow replica share %.2f, want %.2f..%.2f", share, tc.min, tc.max)
			}
		})
	}
}

func TestParseBalance(t *testing.T) {
	if _, err := ParseBalance("random"); err == nil {
		t.Error("random accepted")
	}
	if b, err := ParseBalance("round-robin"); err != nil || b != BalanceRoundRobin {
		t.Errorf("round-robin: %v %v", b, err)
	}
}

func FuzzParseMatch(f *testing.F) {
	for _, s := range []string{"", "PathPrefix /", "Exact /api/vote, GET", "RegularExpression /a/[0-9]+ | PathPrefix /b, header x=1, query q=2", "RegularExpression (", "header =", ", , |"} {
		f.Add(s, "/api/vote?q=2")
	}
	f.Fuzz(func(t *testing.T, m, target string) {
		alts := parseMatch(m)
		if len(alts) == 0 {
			t.Fatalf("parseMatch(%q) gave no alternative", m)
		}
		req, err := http.NewRequest(http.MethodGet, "http://x"+target, nil)
		if err != nil {
			return
		}
		for _, a := range alts {
			_, _ = a.match(req)
		}
	})
}
