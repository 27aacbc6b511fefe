// Package topology builds the service graph of a namespace from the Linkerd proxies' metrics in
// Prometheus: workloads as nodes, client-to-server traffic as edges carrying request rate,
// success rate, latency percentiles and whether the traffic was mutually authenticated (mTLS).
package topology

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// DefaultWindow is how far back the graph looks when no window is given.
const DefaultWindow = 5 * time.Minute

// ErrNoTraffic means Prometheus holds no meshed traffic for the namespace in the window.
var ErrNoTraffic = errors.New("no meshed traffic")

// Querier runs an instant PromQL query; the client_golang API (promv1.API) is one.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, error)
}

// Node is one workload.
type Node struct {
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	// Version is the pods' `version` label, when the metrics carry it.
	Version string `json:"version,omitempty"`
}

// ID names the node uniquely: namespace/workload.
func (n Node) ID() string { return n.Namespace + "/" + n.Workload }

// Edge is the traffic from one client workload to one server workload, as the client's proxy
// saw it.
type Edge struct {
	From Node `json:"from"`
	To   Node `json:"to"`
	// Authority is the name the client called (the apex Service during a split).
	Authority string  `json:"authority,omitempty"`
	RPS       float64 `json:"rps"`
	// SuccessRate is the share of responses classified as success, 0..1.
	SuccessRate float64 `json:"successRate"`
	// P50 and P99 are latency percentiles in milliseconds; NaN (omitted in JSON) without data.
	P50 float64 `json:"p50Ms"`
	P99 float64 `json:"p99Ms"`
	// MTLS is true when every response on the edge came over a mutually authenticated connection.
	MTLS bool `json:"mtls"`
	// Share is this edge's part of the traffic its client sent to the same authority (0..1):
	// during a canary, the split between versions. 1 when there is only one server.
	Share float64 `json:"share"`
}

// Graph is a namespace's service topology.
type Graph struct {
	Namespace string        `json:"namespace"`
	Window    time.Duration `json:"window"`
	Nodes     []Node        `json:"nodes"`
	Edges     []Edge        `json:"edges"`
	// Slowest and LeastHealthy index Edges (-1 when there are no edges).
	Slowest      int `json:"slowest"`
	LeastHealthy int `json:"leastHealthy"`
}

// Plaintext lists the edges that carried traffic without mTLS.
func (g *Graph) Plaintext() []Edge {
	var out []Edge
	for _, e := range g.Edges {
		if !e.MTLS {
			out = append(out, e)
		}
	}
	return out
}

type edgeKey struct{ fromNS, from, toNS, to, authority string }

// Build queries Prometheus for the namespace's edges over the window ending at `at`.
func Build(ctx context.Context, q Querier, namespace string, window time.Duration, at time.Time) (*Graph, error) {
	w := model.Duration(window).String()
	sel := fmt.Sprintf(`direction="outbound",dst_deployment!="",namespace=%q`, namespace)
	alt := fmt.Sprintf(`direction="outbound",dst_deployment!="",dst_namespace=%q`, namespace)
	by := "namespace, deployment, dst_namespace, dst_deployment, authority"
	rate := func(metric, extra, groups string) string {
		one := func(s string) string {
			return fmt.Sprintf(`sum by (%s) (rate(%s{%s%s}[%s]))`, groups, metric, s, extra, w)
		}
		// Edges leaving the namespace and edges entering it from elsewhere.
		return one(sel) + " or " + one(alt)
	}
	total, err := query(ctx, q, rate("response_total", "", by), at)
	if err != nil {
		return nil, err
	}
	edges := map[edgeKey]*Edge{}
	for _, s := range total {
		if s.Value <= 0 {
			continue
		}
		k := key(s.Metric)
		edges[k] = &Edge{
			From: Node{Namespace: k.fromNS, Workload: k.from}, To: Node{Namespace: k.toNS, Workload: k.to},
			Authority: k.authority, RPS: float64(s.Value), P50: math.NaN(), P99: math.NaN(),
		}
	}
	if len(edges) == 0 {
		return nil, fmt.Errorf("%w in namespace %s in the last %s: send traffic through meshed workloads or widen --since", ErrNoTraffic, namespace, w)
	}
	success, err := query(ctx, q, rate("response_total", `,classification="success"`, by), at)
	if err != nil {
		return nil, err
	}
	for _, s := range success {
		if e := edges[key(s.Metric)]; e != nil {
			e.SuccessRate = float64(s.Value) / e.RPS
		}
	}
	tls, err := query(ctx, q, rate("response_total", `,tls="true"`, by), at)
	if err != nil {
		return nil, err
	}
	for _, s := range tls {
		// Compare with a tolerance: the two rates come from separate series.
		if e := edges[key(s.Metric)]; e != nil && float64(s.Value) >= e.RPS*(1-1e-9) {
			e.MTLS = true
		}
	}
	for _, pq := range []struct {
		q   float64
		set func(*Edge, float64)
	}{{0.5, func(e *Edge, v float64) { e.P50 = v }}, {0.99, func(e *Edge, v float64) { e.P99 = v }}} {
		expr := fmt.Sprintf("histogram_quantile(%g, %s)", pq.q, rate("response_latency_ms_bucket", "", by+", le"))
		vec, err := query(ctx, q, expr, at)
		if err != nil {
			return nil, err
		}
		for _, s := range vec {
			if e := edges[key(s.Metric)]; e != nil {
				pq.set(e, float64(s.Value))
			}
		}
	}
	versions, err := query(ctx, q, fmt.Sprintf(`group by (namespace, deployment, version) (last_over_time(response_total{version!=""}[%s]))`, w), at)
	if err != nil {
		return nil, err
	}
	return assemble(namespace, window, edges, versions), nil
}

func key(m model.Metric) edgeKey {
	return edgeKey{
		fromNS: string(m["namespace"]), from: string(m["deployment"]),
		toNS: string(m["dst_namespace"]), to: string(m["dst_deployment"]),
		authority: string(m["authority"]),
	}
}

func query(ctx context.Context, q Querier, expr string, at time.Time) (model.Vector, error) {
	v, _, err := q.Query(ctx, expr, at)
	if err != nil {
		return nil, fmt.Errorf("query Prometheus: %w", err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query Prometheus: got a %s for %s, want a vector", v.Type(), expr)
	}
	return vec, nil
}

func assemble(namespace string, window time.Duration, edges map[edgeKey]*Edge, versions model.Vector) *Graph {
	version := map[string]string{}
	for _, s := range versions {
		version[string(s.Metric["namespace"])+"/"+string(s.Metric["deployment"])] = string(s.Metric["version"])
	}
	g := &Graph{Namespace: namespace, Window: window, Slowest: -1, LeastHealthy: -1}
	nodes := map[string]Node{}
	perAuthority := map[string]float64{}
	for _, e := range edges {
		e.From.Version = version[e.From.ID()]
		e.To.Version = version[e.To.ID()]
		nodes[e.From.ID()], nodes[e.To.ID()] = e.From, e.To
		perAuthority[e.From.ID()+" "+e.Authority] += e.RPS
		g.Edges = append(g.Edges, *e)
	}
	sort.Slice(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		return a.From.ID()+" "+a.To.ID()+" "+a.Authority < b.From.ID()+" "+b.To.ID()+" "+b.Authority
	})
	for i := range g.Edges {
		e := &g.Edges[i]
		e.Share = e.RPS / perAuthority[e.From.ID()+" "+e.Authority]
		if !math.IsNaN(e.P99) && (g.Slowest < 0 || e.P99 > g.Edges[g.Slowest].P99) {
			g.Slowest = i
		}
		if g.LeastHealthy < 0 || e.SuccessRate < g.Edges[g.LeastHealthy].SuccessRate {
			g.LeastHealthy = i
		}
	}
	for _, n := range nodes {
		g.Nodes = append(g.Nodes, n)
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID() < g.Nodes[j].ID() })
	return g
}

// Label is a node's display name: workload, with the version when known and not already part of
// the name.
func (n Node) Label() string {
	if n.Version == "" || strings.HasSuffix(n.Workload, n.Version) {
		return n.Workload
	}
	return n.Workload + " (" + n.Version + ")"
}

// MarshalJSON writes percentiles without data as null: JSON has no NaN.
func (e Edge) MarshalJSON() ([]byte, error) {
	type plain Edge
	out := struct {
		plain
		P50 *float64 `json:"p50Ms"`
		P99 *float64 `json:"p99Ms"`
	}{plain: plain(e)}
	if !math.IsNaN(e.P50) {
		out.P50 = &e.P50
	}
	if !math.IsNaN(e.P99) {
		out.P99 = &e.P99
	}
	return json.Marshal(out)
}
