package split

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
)

func TestPrintTableGolden(t *testing.T) {
	tests := []struct {
		name string
		s    *Split
	}{
		{"httproutes", &Split{
			Router: KindGateway, Namespace: "emojivoto", Apex: "web-svc", Uniform: true,
			Backends: []Backend{{"web-v1", 1}, {"web-v2", 1}, {"web-v3", 1}},
			Rules: []RuleSplit{
				{Object: "HTTPRoute.gateway.networking.k8s.io emojivoto/web-svc-api-list", Rule: 0, Match: "Exact /api/list, GET", Backends: []Backend{{"web-v1", 1}, {"web-v2", 1}, {"web-v3", 1}}},
				{Object: "HTTPRoute.gateway.networking.k8s.io emojivoto/web-svc-api-list", Rule: 1, Match: "Exact /api/list, GET, header x-canary=true", Backends: []Backend{{"web-v2", 1}}, Header: &HeaderMatch{"x-canary", "true"}},
				{Object: "HTTPRoute.gateway.networking.k8s.io emojivoto/web-svc-split", Rule: 0, Match: "PathPrefix /", Backends: []Backend{{"web-v1", 1}, {"web-v2", 1}, {"web-v3", 1}}},
			},
		}},
		{"trafficsplits-disagree", &Split{
			Router: KindSMI, Namespace: "emojivoto", Apex: "web-svc", Uniform: false,
			Backends: []Backend{{"web-v1", 750}, {"web-v2", 250}},
			Rules: []RuleSplit{
				{Object: "TrafficSplit.split.smi-spec.io/v1alpha1 emojivoto/a", Rule: -1, Backends: []Backend{{"web-v1", 750}, {"web-v2", 250}}},
				{Object: "TrafficSplit.split.smi-spec.io/v1alpha1 emojivoto/b", Rule: -1, Backends: []Backend{{"web-v1", 0}, {"web-v2", 1}}},
			},
		}},
		{"apex-only", &Split{
			Router: KindLinkerd, Namespace: "emojivoto", Apex: "web-svc", Uniform: true,
			Rules:    []RuleSplit{{Object: "HTTPRoute.policy.linkerd.io emojivoto/web-svc-api", Rule: 0, Match: "PathPrefix /api"}},
			Warnings: []string{"no catch-all rule covers port(s) [8080] of web-svc: Linkerd answers 404 to requests no rule matches (`split set` adds one)"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := PrintTable(&buf, tt.s); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", tt.name+".golden"), buf.Bytes())
		})
	}
}
