package dashboards

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/verify"
)

// TestGenerated keeps the committed dashboard JSON equal to what the code builds.
// expressions walks dashboard JSON for every query: panel targets' "expr" and variables'
// "query" strings.
func expressions(t *testing.T) []string {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if s, ok := c.(string); ok && (k == "expr" || k == "query") && s != "" {
					out = append(out, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	for _, d := range all {
		b, err := JSON(d)
		if err != nil {
			t.Fatal(err)
		}
		var m any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		walk(m)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// runbookQueries returns the PromQL examples of docs/runbook.md (its ```promql blocks), so
// the examples a reader pastes are held to the same standard as the dashboards.
func runbookQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, block := range strings.Split(string(b), "```promql\n")[1:] {
		q, _, ok := strings.Cut(block, "```")
		if !ok {
			t.Fatalf("docs/runbook.md: unterminated promql block")
		}
		out = append(out, strings.Join(strings.Fields(q), " "))
	}
	if len(out) == 0 {
		t.Fatal("docs/runbook.md has no promql examples")
	}
	return out
}

// fixture values for the template variables.
var substitutions = strings.NewReplacer(
	VarNamespace, "emojivoto",
	VarDeployment, "web-v1|web-v2",
	VarApex, "web-svc",
	VarInterval, "30s",
)

var labelValues = regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)

// promQL turns a dashboard query into the PromQL Prometheus runs: variables substituted, and
// Grafana's label_values(selector, label) as the equivalent count by (label) (selector).
func promQL(q string) string {
	q = substitutions.Replace(q)
	if m := labelValues.FindStringSubmatch(q); m != nil {
		return "count by (" + m[2] + ") (" + m[1] + ")"
	}
	return q
}

// serveFixture serves the Linkerd proxy and trafficctl metrics the dashboards read, for two
// versions of web (v2 slower and failing some requests), growing on every scrape.
func serveFixture(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	req := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "request_total", Help: "fixture"},
		[]string{"direction", "namespace", "deployment", "tls"})
	resp := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "response_total", Help: "fixture"},
		[]string{"direction", "namespace", "deployment", "dst_namespace", "dst_deployment", "tls", "classification", "status_code"})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "response_latency_ms", Help: "fixture",
		Buckets: []float64{1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000}},
		[]string{"direction", "namespace", "deployment", "dst_namespace", "dst_deployment"})
	backend := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outbound_http_route_backend_response_statuses_total", Help: "fixture"},
		[]string{"namespace", "deployment", "parent_name", "backend_name", "route_name", "http_status", "error"})
	weight := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trafficctl_canary_weight", Help: "fixture"}, []string{"namespace", "apex", "canary"})
	phase := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trafficctl_canary_phase", Help: "fixture"}, []string{"namespace", "apex", "canary", "phase"})
	reg.MustRegister(req, resp, lat, backend, weight, phase)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	tick := 0
	scrape := func() {
		tick++
		// A rollout as pkg/canary's gauges export it (same names and labels): a step of
		// weight every three scrapes, pausing for approval between steps, so the release
		// annotations (which mark changes) have changes to mark.
		step := tick / 3
		weight.WithLabelValues("emojivoto", "web-svc", "web").Set(float64(10 * (1 + step%9)))
		current := "Progressing"
		if step%2 == 1 {
			current = "AwaitingApproval"
		}
		for _, p := range []string{"Progressing", "AwaitingApproval", "Promoted"} {
			v := 0.0
			if p == current {
				v = 1
			}
			phase.WithLabelValues("emojivoto", "web-svc", "web", p).Set(v)
		}
		for _, v := range []struct {
			deploy        string
			n, fail, slow float64
		}{{"web-v1", 90, 0, 8}, {"web-v2", 10, 2, 40}} {
			req.WithLabelValues("inbound", "emojivoto", v.deploy, "true").Add(v.n)
			resp.WithLabelValues("inbound", "emojivoto", v.deploy, "", "", "true", "success", "200").Add(v.n - v.fail)
			if v.fail > 0 {
				resp.WithLabelValues("inbound", "emojivoto", v.deploy, "", "", "true", "failure", "500").Add(v.fail)
			}
			resp.WithLabelValues("outbound", "emojivoto", "vote-bot", "emojivoto", v.deploy, "true", "success", "200").Add(v.n)
			for i := 0; i < int(v.n); i++ {
				ms := v.slow * float64(1+(i+tick)%4) / 2
				lat.WithLabelValues("inbound", "emojivoto", v.deploy, "", "").Observe(ms)
				// The caller's view of the same call, a little slower (its own proxy's hop).
				lat.WithLabelValues("outbound", "emojivoto", "vote-bot", "emojivoto", v.deploy).Observe(ms + 1)
			}
			backend.WithLabelValues("emojivoto", "vote-bot", "web-svc", v.deploy, "web-canary", "200", "").Add(v.n)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scrape()
		h.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// TestQueriesReturnData runs every dashboard query (and the runbook's verify query) against a
// real Prometheus scraping fixture metrics, and requires each to return data: a query that
// parses but selects nothing (a wrong label, a misspelt metric) fails here.
func TestQueriesReturnData(t *testing.T) {
	prom := testenv.StartPrometheus(t, testenv.PromConfig{Targets: []string{serveFixture(t)}, Interval: time.Second})
	client, err := promapi.NewClient(promapi.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(client)
	queries := expressions(t)
	if len(queries) < len(Queries) {
		t.Fatalf("found %d queries in the dashboards, want at least the %d in Queries", len(queries), len(Queries))
	}
	queries = append(queries, verify.EdgeQuery("emojivoto", time.Minute))
	queries = append(queries, runbookQueries(t)...)
	// rate() over 30s needs a few scrapes first.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			pq := promQL(q)
			for {
				v, _, err := api.Query(ctx, pq, time.Now())
				if err != nil {
					t.Fatalf("query %s: %v", pq, err)
				}
				if vec, ok := v.(model.Vector); ok && len(vec) > 0 {
					t.Logf("%s -> %d series, first %s", pq, len(vec), vec[0])
					return
				}
				select {
				case <-ctx.Done():
					t.Fatalf("query %s returned no data from the fixture", pq)
				case <-time.After(500 * time.Millisecond):
				}
			}
		})
	}
}
