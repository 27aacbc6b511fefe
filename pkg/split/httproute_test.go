package split

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func match(typ, value string, extra map[string]any) map[string]any {
	m := map[string]any{"path": map[string]any{"type": typ, "value": value}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func rule(matches ...map[string]any) map[string]any {
	ms := make([]any, len(matches))
	for i, m := range matches {
		ms[i] = m
	}
	return map[string]any{"matches": ms}
}

func TestCatchAll(t *testing.T) {
	tests := []struct {
		name string
		rule map[string]any
		want bool
	}{
		{"no matches", map[string]any{}, true},
		{"prefix slash", rule(match("PathPrefix", "/", nil)), true},
		{"empty path", rule(map[string]any{}), true},
		{"one of several", rule(match("Exact", "/a", nil), match("PathPrefix", "/", nil)), true},
		{"exact slash", rule(match("Exact", "/", nil)), false},
		{"prefix with method", rule(match("PathPrefix", "/", map[string]any{"method": "GET"})), false},
		{"prefix with header", rule(match("PathPrefix", "/", map[string]any{"headers": []any{}})), false},
		{"longer prefix", rule(match("PathPrefix", "/api", nil)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := catchAll(tt.rule); got != tt.want {
				t.Errorf("catchAll = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTwinAndBaseRule(t *testing.T) {
	r := rule(match("Exact", "/api/list", map[string]any{"method": "GET"}))
	r["timeouts"] = map[string]any{"request": "2s"}
	r["backendRefs"] = []any{map[string]any{"name": "web-v1", "port": int64(8080), "weight": int64(90)}}
	twin := twinRule(r, HeaderMatch{Name: "x-canary", Value: "true"}, "web-v2", 8080)
	hm, ok := headerRule(twin, "x-canary")
	if !ok || hm != (HeaderMatch{"x-canary", "true"}) {
		t.Fatalf("twin is not a header rule: %v", twin)
	}
	if _, ok := headerRule(r, "x-canary"); ok {
		t.Errorf("original became a header rule: %v", r)
	}
	if got := ruleBackends(twin); !slices.Equal(got, []Backend{{"web-v2", 1}}) {
		t.Errorf("twin backends = %v", got)
	}
	if matchString(twin) != "Exact /api/list, GET, header x-canary=true" || twin["timeouts"] == nil {
		t.Errorf("twin = %q %v", matchString(twin), twin)
	}
	if matchKey(baseRule(twin, "x-canary")) != matchKey(r) {
		t.Errorf("baseRule(twin) does not match the original: %v", baseRule(twin, "x-canary"))
	}
	// A rule without matches gets an explicit catch-all match plus the header.
	if got := matchString(twinRule(map[string]any{}, HeaderMatch{"x", "1"}, "b", 80)); got != "PathPrefix /, header x=1" {
		t.Errorf("twin of a match-less rule: %q", got)
	}
}

func TestMergeRefsKeepsFields(t *testing.T) {
	old := []any{
		map[string]any{"name": "web-v1", "port": int64(8080), "weight": int64(100), "filters": []any{"keep"}},
		map[string]any{"name": "web-old", "port": int64(8080)},
	}
	got := mergeRefs(old, []Backend{{"web-v1", 90}, {"web-v2", 10}}, 9090)
	if len(got) != 2 {
		t.Fatalf("refs = %v", got)
	}
	v1, v2 := got[0].(map[string]any), got[1].(map[string]any)
	if v1["weight"] != int64(90) || v1["port"] != int64(8080) || v1["filters"] == nil {
		t.Errorf("existing ref = %v", v1)
	}
	if v2["weight"] != int64(10) || v2["port"] != int64(9090) {
		t.Errorf("new ref = %v", v2)
	}
	if old[0].(map[string]any)["weight"] != int64(100) {
		t.Errorf("mergeRefs changed its input")
	}
}

func apexService(ports ...int32) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-svc", Namespace: "web"}}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Port: p})
	}
	return svc
}

func route(name string, parentPorts []any, rules ...map[string]any) *unstructured.Unstructured {
	var parents []any
	for _, p := range parentPorts {
		ref := map[string]any{"group": "core", "kind": "Service", "name": "web-svc"}
		if p != nil {
			ref["port"] = p
		}
		parents = append(parents, ref)
	}
	rs := make([]any, len(rules))
	for i, r := range rules {
		rs[i] = r
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name, "namespace": "web"},
		"spec":     map[string]any{"parentRefs": parents, "rules": rs},
	}}
}

func TestBackendPortAndCoverage(t *testing.T) {
	single := apexService(8080)
	multi := apexService(8080, 9090)
	perRoute := route("list", []any{nil}, rule(match("Exact", "/api/list", nil)))
	catchAllAll := route("all", []any{nil}, rule(match("PathPrefix", "/", nil)))
	catchAll9090 := route("b", []any{int64(9090)}, map[string]any{})

	if p, err := backendPort(perRoute, single, "r"); err != nil || p != 8080 {
		t.Errorf("single-port apex: %d, %v", p, err)
	}
	if p, err := backendPort(catchAll9090, multi, "r"); err != nil || p != 9090 {
		t.Errorf("route on port 9090: %d, %v", p, err)
	}
	if _, err := backendPort(perRoute, multi, "r"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "one HTTPRoute per port") {
		t.Errorf("all ports of a multi-port apex: %v", err)
	}

	tests := []struct {
		name   string
		routes []*unstructured.Unstructured
		apex   *corev1.Service
		want   []int64
	}{
		{"nothing", nil, single, []int64{8080}},
		{"per-route rules only", []*unstructured.Unstructured{perRoute}, single, []int64{8080}},
		{"catch-all on all ports", []*unstructured.Unstructured{perRoute, catchAllAll}, multi, nil},
		{"catch-all on one port", []*unstructured.Unstructured{catchAll9090}, multi, []int64{8080}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := uncoveredPorts(tt.routes, tt.apex); !slices.Equal(got, tt.want) {
				t.Errorf("uncoveredPorts = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAttachment(t *testing.T) {
	r := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"parentRefs": []any{
		map[string]any{"name": "web-svc"}, // a Gateway by default: not the Service
		map[string]any{"group": "", "kind": "Service", "name": "web-svc", "port": int64(80)},
		map[string]any{"group": "core", "kind": "Service", "name": "web-svc", "namespace": "other"},
	}}}}
	ports, all, ok := attachment(r, "web", "web-svc")
	if !ok || all || !slices.Equal(ports, []int64{80}) {
		t.Errorf("attachment = %v %v %v", ports, all, ok)
	}
	if _, _, ok := attachment(r, "web", "api-svc"); ok {
		t.Errorf("attached to another Service")
	}
}

func TestWeightsMoved(t *testing.T) {
	read := route("r", []any{nil}, rule(match("Exact", "/a", nil)), rule(match("PathPrefix", "/", nil)))
	rules(read)[0]["backendRefs"] = []any{map[string]any{"name": "v1", "weight": int64(100)}}
	now := read.DeepCopy()
	// Another writer added a rule: not a weight change.
	_ = unstructured.SetNestedSlice(now.Object, append(now.Object["spec"].(map[string]any)["rules"].([]any), rule(match("Exact", "/b", nil))), "spec", "rules")
	if err := weightsMoved(read, now, "r"); err != nil {
		t.Errorf("added rule counted as moved weights: %v", err)
	}
	rules(now)[0]["backendRefs"] = []any{map[string]any{"name": "v1", "weight": int64(50)}, map[string]any{"name": "v2", "weight": int64(50)}}
	err := weightsMoved(read, now, "r")
	var wc *WeightsChangedError
	if !errors.As(err, &wc) || wc.Rule != 0 || !strings.Contains(err.Error(), "read v1=100, now v1=50 v2=50") {
		t.Errorf("weightsMoved = %v", err)
	}
}

func TestChangeString(t *testing.T) {
	c := Change{Object: "HTTPRoute.gateway.networking.k8s.io web/r", Rule: 2, Match: "Exact /a", Before: nil, After: []Backend{{"v1", 9}, {"v2", 1}}}
	if got := c.String(); got != "HTTPRoute.gateway.networking.k8s.io web/r rule 2 (Exact /a): (apex service) -> v1=9 v2=1" {
		t.Errorf("String = %q", got)
	}
	c = Change{Object: "TrafficSplit web/s", Rule: -1, Created: true, After: []Backend{{"v1", 1}}}
	if got := c.String(); got != "TrafficSplit web/s: created with v1=1" {
		t.Errorf("String = %q", got)
	}
}
