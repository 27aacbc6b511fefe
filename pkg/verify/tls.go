package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Querier runs an instant PromQL query; the client_golang API (promv1.API) is one.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, error)
}

// DefaultWindow is how far back EdgeTLS looks for traffic.
const DefaultWindow = 5 * time.Minute

// edgeLabels identify one edge and how it was secured.
const edgeLabels = "namespace, deployment, dst_namespace, dst_deployment, tls, no_tls_reason"

// EdgeQuery is the PromQL for every edge leaving or entering namespace ns in the window, as the
// client-side (outbound) proxies saw it: tls="true" means the connection was mutually
// authenticated with the server's mesh identity.
func EdgeQuery(ns string, window time.Duration) string {
	w := model.Duration(window).String()
	one := func(sel string) string {
		return fmt.Sprintf(`sum by (%s) (increase(response_total{direction="outbound",%s=%q}[%s]))`, edgeLabels, sel, ns, w)
	}
	return one("namespace") + " or " + one("dst_namespace")
}

// EdgeResult is what EdgeTLS saw.
type EdgeResult struct {
	// Edges is the number of distinct client->server edges with traffic in the window.
	Edges    int
	Findings []Finding
}

// EdgeTLS reports every edge that carried responses without mTLS in the window.
func EdgeTLS(ctx context.Context, q Querier, ns string, window time.Duration) (*EdgeResult, error) {
	query := EdgeQuery(ns, window)
	v, _, err := q.Query(ctx, query, time.Now())
	if err != nil {
		return nil, fmt.Errorf("query Prometheus for mTLS edges: %w", err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query Prometheus for mTLS edges: got a %s, want a vector", v.Type())
	}
	res := &EdgeResult{}
	edges := map[string]bool{}
	plain := map[string][]string{}
	for _, s := range vec {
		if s.Value <= 0 {
			continue
		}
		edge := fmt.Sprintf("%s/%s -> %s/%s", s.Metric["namespace"], s.Metric["deployment"], s.Metric["dst_namespace"], s.Metric["dst_deployment"])
		edges[edge] = true
		if s.Metric["tls"] == "true" {
			continue
		}
		how := fmt.Sprintf("%.0f responses with tls=%q", float64(s.Value), s.Metric["tls"])
		if r := s.Metric["no_tls_reason"]; r != "" {
			how += fmt.Sprintf(" (%s)", r)
		}
		plain[edge] = append(plain[edge], how)
	}
	res.Edges = len(edges)
	keys := make([]string, 0, len(plain))
	for k := range plain {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, edge := range keys {
		res.Findings = append(res.Findings, Finding{Check: CheckPlaintextEdge, Object: edge,
			Message: strings.Join(plain[edge], ", ") + " in the last " + model.Duration(window).String() + ": mesh both ends (linkerd.io/inject=enabled) and check `linkerd viz edges`"})
	}
	return res, nil
}
