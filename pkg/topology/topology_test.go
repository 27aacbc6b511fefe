package topology_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/topology"
)

// fixtureEdge is one client->server edge the fixture serves, with per-scrape increments.
type fixtureEdge struct {
	from, to, authority, tls string
	success, failure         int
	// bucket is the upper bound (ms) of the latency bucket every response falls in.
	bucket int
}

var fixture = []fixtureEdge{
	{"web", "emoji", "emoji-svc.shop.svc.cluster.local:8080", "true", 10, 0, 10},
	{"web", "voting-v1", "voting-svc.shop.svc.cluster.local:8080", "true", 7, 1, 50},
	{"web", "voting-v2", "voting-svc.shop.svc.cluster.local:8080", "true", 1, 1, 500},
	{"vote-bot", "web", "web-svc.shop.svc.cluster.local:80", "no_identity", 5, 0, 10},
}

var buckets = []int{5, 10, 50, 100, 500, 1000}

// serveFixture exports Linkerd-named proxy metrics whose counters grow by the fixture's
// increments on every scrape, so rates and ratios are known exactly.
func serveFixture(t *testing.T) string {
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(scrapes.Add(1))
		var b strings.Builder
		b.WriteString("# TYPE response_total counter\n# TYPE response_latency_ms histogram\n")
		for _, e := range fixture {
			reason := ""
			if e.tls != "true" {
				reason = `,no_tls_reason="not_provided_by_remote"`
			}
			labels := fmt.Sprintf(`direction="outbound",namespace="shop",deployment=%q,dst_namespace="shop",dst_deployment=%q,authority=%q,tls=%q%s`, e.from, e.to, e.authority, e.tls, reason)
			fmt.Fprintf(&b, "response_total{%s,classification=\"success\"} %d\n", labels, e.success*n)
			fmt.Fprintf(&b, "response_total{%s,classification=\"failure\"} %d\n", labels, e.failure*n)
			total := (e.success + e.failure) * n
			for _, le := range buckets {
				c := 0
				if le >= e.bucket {
					c = total
				}
				fmt.Fprintf(&b, "response_latency_ms_bucket{%s,le=\"%d\"} %d\n", labels, le, c)
			}
			fmt.Fprintf(&b, "response_latency_ms_bucket{%s,le=\"+Inf\"} %d\n", labels, total)
			fmt.Fprintf(&b, "response_latency_ms_count{%s} %d\n", labels, total)
		}
		// The server side's inbound series carry the pods' version label (linkerd-viz maps pod labels).
		for _, v := range []struct{ deploy, version string }{{"voting-v1", "v1"}, {"voting-v2", "v2"}} {
			fmt.Fprintf(&b, "response_total{direction=\"inbound\",namespace=\"shop\",deployment=%q,version=%q,classification=\"success\",tls=\"true\"} %d\n", v.deploy, v.version, n)
		}
		_, _ = w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func promAPI(t *testing.T, url string) promv1.API {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(c)
}

// buildWhenScraped polls until Prometheus has enough samples for rates over the window.
func buildWhenScraped(t *testing.T, q topology.Querier) *topology.Graph {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, err := topology.Build(context.Background(), q, "shop", 30*time.Second, time.Now())
		if err == nil && len(g.Edges) == len(fixture) && !math.IsNaN(g.Edges[0].P99) {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("no complete graph after 30s: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestBuildFromRealPrometheus(t *testing.T) {
	target := serveFixture(t)
	prom := testenv.StartPrometheus(t, testenv.PromConfig{Targets: []string{target}, Interval: time.Second})
	g := buildWhenScraped(t, promAPI(t, prom.URL))

	type want struct {
		success, share float64
		mtls           bool
		p50lo, p50hi   float64
	}
	wants := map[string]want{
		"shop/web -> shop/emoji":     {1, 1, true, 5, 10},
		"shop/web -> shop/voting-v1": {7.0 / 8, 0.8, true, 10, 50},
		"shop/web -> shop/voting-v2": {0.5, 0.2, true, 100, 500},
		"shop/vote-bot -> shop/web":  {1, 1, false, 5, 10},
	}
	for _, e := range g.Edges {
		name := e.From.ID() + " -> " + e.To.ID()
		w, ok := wants[name]
		if !ok {
			t.Errorf("unexpected edge %s", name)
			continue
		}
		if math.Abs(e.SuccessRate-w.success) > 1e-6 || math.Abs(e.Share-w.share) > 1e-6 || e.MTLS != w.mtls {
			t.Errorf("%s: success %.4f share %.4f mtls %v; want %.4f %.4f %v", name, e.SuccessRate, e.Share, e.MTLS, w.success, w.share, w.mtls)
		}
		if e.P50 <= w.p50lo || e.P50 > w.p50hi || e.P99 <= w.p50lo || e.P99 > w.p50hi {
			t.Errorf("%s: p50 %.2f p99 %.2f, want both in (%v, %v] (the fixture's bucket)", name, e.P50, e.P99, w.p50lo, w.p50hi)
		}
		if e.RPS <= 0 {
			t.Errorf("%s: rps %.2f, want > 0", name, e.RPS)
		}
	}
	if e := g.Edges[g.Slowest]; e.To.Workload != "voting-v2" {
		t.Errorf("slowest edge = %s, want web -> voting-v2", e.To.Workload)
	}
	if e := g.Edges[g.LeastHealthy]; e.To.Workload != "voting-v2" {
		t.Errorf("least healthy edge = %s, want web -> voting-v2", e.To.Workload)
	}
	if p := g.Plaintext(); len(p) != 1 || p[0].From.Workload != "vote-bot" {
		t.Errorf("plaintext edges = %+v, want only vote-bot -> web", p)
	}
	for _, n := range g.Nodes {
		if n.Workload == "voting-v2" && n.Version != "v2" {
			t.Errorf("voting-v2 version = %q, want v2 from the inbound series", n.Version)
		}
	}

	var table bytes.Buffer
	if err := topology.WriteTable(&table, g); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"PLAINTEXT edge: vote-bot -> web", "slowest edge: web -> voting-v2", "20.0%", "80.0%"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}
	js, err := json.Marshal(g)
	if err != nil || !json.Valid(js) {
		t.Fatalf("graph JSON: %v", err)
	}

	t.Run("html and svg render in chromium", func(t *testing.T) {
		chromium := testenv.Chromium(t)
		dir := t.TempDir()
		for _, format := range []string{"html", "svg"} {
			page := filepath.Join(dir, "topology."+format)
			var buf bytes.Buffer
			write := topology.WriteHTML
			if format == "svg" {
				write = topology.WriteSVG
			}
			if err := write(&buf, g); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			shot := filepath.Join(dir, format+".png")
			args := append(testenv.ChromiumArgs(filepath.Join(dir, "profile-"+format)), "--window-size=1200,800", "--screenshot="+shot, "file://"+page)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			out, err := exec.CommandContext(ctx, chromium, args...).CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("chromium %s: %v\n%s", format, err, out)
			}
			assertDrawn(t, shot)
		}
	})
}

// assertDrawn checks a screenshot has both the white page and the graph's colours on it.
func assertDrawn(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	colored := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 > 150 && g>>8 < 90 && bl>>8 < 90 { // the plaintext edge's red
				colored++
			}
		}
	}
	if colored < 20 {
		t.Errorf("%s: %d red pixels, want the plaintext edge drawn", filepath.Base(path), colored)
	}
}

func TestNoTraffic(t *testing.T) {
	prom := testenv.StartPrometheus(t, testenv.PromConfig{Targets: []string{serveFixture(t)}, Interval: time.Second})
	_, err := topology.Build(context.Background(), promAPI(t, prom.URL), "empty", time.Minute, time.Now())
	if !errors.Is(err, topology.ErrNoTraffic) || !strings.Contains(err.Error(), "namespace empty") {
		t.Fatalf("Build on a namespace without traffic: %v, want ErrNoTraffic naming it", err)
	}
}

func TestPrometheusUnreachable(t *testing.T) {
	_, err := topology.Build(context.Background(), promAPI(t, "http://127.0.0.1:1"), "shop", time.Minute, time.Now())
	if err == nil || !strings.Contains(err.Error(), "query Prometheus") {
		t.Fatalf("Build against a closed port: %v, want a query error", err)
	}
}
