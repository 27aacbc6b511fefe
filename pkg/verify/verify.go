package verify

import (
	"context"
	"time"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Options configure one verification of a live namespace.
type Options struct {
	Namespace string
	// Prometheus answers the mTLS-edge query; nil skips that check (Report.TLSChecked false).
	Prometheus Querier
	// Window is how far back the mTLS check looks; 0 means DefaultWindow.
	Window time.Duration
}

// Report is the outcome: what was looked at, and the findings (none means the namespace is
// secured).
type Report struct {
	Namespace  string    `json:"namespace"`
	Pods       int       `json:"pods"`
	Services   int       `json:"services"`
	Routes     int       `json:"routes"`
	TLSChecked bool      `json:"tlsChecked"`
	Edges      int       `json:"edges"`
	Findings   []Finding `json:"findings"`
}

// Manifests runs every check that needs no metrics: meshed pods, covered ports, catch-all
// routes, ServiceProfiles overriding routes.
func Manifests(inv *Inventory) ([]Finding, error) {
	out := Meshed(inv)
	cov, err := PortCoverage(inv)
	if err != nil {
		return nil, err
	}
	out = append(out, cov...)
	out = append(out, CatchAll(inv)...)
	return append(out, ProfileOverrides(inv)...), nil
}

// Run verifies a live namespace.
func Run(ctx context.Context, c *kube.Clients, o Options) (*Report, error) {
	inv, err := Collect(ctx, c, o.Namespace)
	if err != nil {
		return nil, err
	}
	findings, err := Manifests(inv)
	if err != nil {
		return nil, err
	}
	r := &Report{Namespace: o.Namespace, Pods: len(inv.Workloads), Services: len(inv.Services), Routes: len(inv.routes()), Findings: findings}
	if o.Prometheus != nil {
		window := o.Window
		if window == 0 {
			window = DefaultWindow
		}
		edges, err := EdgeTLS(ctx, o.Prometheus, o.Namespace, window)
		if err != nil {
			return nil, err
		}
		r.TLSChecked, r.Edges = true, edges.Edges
		r.Findings = append(r.Findings, edges.Findings...)
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	return r, nil
}
