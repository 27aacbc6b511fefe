package split_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/smi"
	"github.com/trafficctl/trafficctl/pkg/split"
)

var (
	gatewayRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	linkerdRoutes = schema.GroupVersionResource{Group: "policy.linkerd.io", Version: "v1beta3", Resource: "httproutes"}
	trafficSplits = schema.GroupVersionResource{Group: "split.smi-spec.io", Version: "v1alpha1", Resource: "trafficsplits"}
)

// fixture is a namespace with an apex web-svc on 8080, versions web-v1 and web-v2 on 8080,
// and web-v3 on 9090 only (a port mismatch).
type fixture struct {
	env *testenv.Env
	c   *kube.Clients
	ns  string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Require(t)
	ns := env.Namespace(t)
	c := env.Clients(t, ns)
	for name, port := range map[string]int32{"web-svc": 8080, "web-v1": 8080, "web-v2": 8080, "web-v3": 9090} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port}}, Selector: map[string]string{"app": name}},
		}
		if _, err := c.Kube.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{env: env, c: c, ns: ns}
}

func (f *fixture) router(t *testing.T, kind split.Kind, smiWrite smi.Version) split.Router {
	t.Helper()
	var r split.Router
	switch kind {
	case split.KindGateway:
		r = split.NewGatewayRouter(f.c, "v1")
	case split.KindLinkerd:
		r = split.NewLinkerdRouter(f.c, "v1beta3")
	case split.KindSMI:
		sr, err := split.NewSMIRouter(f.c, smi.V1alpha1, smiWrite)
		if err != nil {
			t.Fatal(err)
		}
		r = sr
	}
	return r
}

// snapshot returns name -> resourceVersion of every object of gvr in ns, to prove that a
// refused call changed nothing.
func (f *fixture) snapshot(t *testing.T, gvr schema.GroupVersionResource) map[string]string {
	t.Helper()
	l, err := f.c.Dynamic.Resource(gvr).Namespace(f.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range l.Items {
		out[o.GetName()] = o.GetResourceVersion()
	}
	return out
}

func (f *fixture) createRoute(t *testing.T, gvr schema.GroupVersionResource, name, parent string, rules ...map[string]any) {
	t.Helper()
	rs := make([]any, len(rules))
	for i, r := range rules {
		rs[i] = r
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gvr.Group + "/" + gvr.Version,
		"kind":       "HTTPRoute",
		"metadata":   map[string]any{"name": name, "namespace": f.ns},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"group": "core", "kind": "Service", "name": parent}},
			"rules":      rs,
		},
	}}
	if _, err := f.c.Dynamic.Resource(gvr).Namespace(f.ns).Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func pathRule(typ, value string) map[string]any {
	return map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": typ, "value": value}}}}
}

func backends(s ...any) []split.Backend {
	var out []split.Backend
	for i := 0; i < len(s); i += 2 {
		out = append(out, split.Backend{Service: s[i].(string), Weight: int64(s[i+1].(int))})
	}
	return out
}

func TestSMIRouterCreatesAndShiftsWeights(t *testing.T) {
	for _, v := range []smi.Version{smi.V1alpha1, smi.V1alpha2} {
		t.Run(string(v), func(t *testing.T) {
			f := setup(t)
			ctx := context.Background()
			r := f.router(t, split.KindSMI, v)
			if _, err := r.Get(ctx, f.ns, "web-svc"); !errors.Is(err, split.ErrNotFound) {
				t.Fatalf("Get before any split: %v, want ErrNotFound", err)
			}
			res, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 100, "web-v2", 0), split.SetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Changes) != 1 || !res.Changes[0].Created {
				t.Fatalf("first set: %+v, want one created TrafficSplit", res.Changes)
			}
			for _, dry := range []kube.DryRun{kube.DryRunClient, kube.DryRunServer} {
				before := f.snapshot(t, trafficSplits)
				res, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 50, "web-v2", 50), split.SetOptions{DryRun: dry})
				if err != nil || len(res.Changes) != 1 || res.Changes[0].Before[0].Weight != 100 || res.Changes[0].After[0].Weight != 50 {
					t.Fatalf("dry run %s: %+v, %v", dry, res, err)
				}
				if after := f.snapshot(t, trafficSplits); !mapsEqual(before, after) {
					t.Fatalf("dry run %s changed objects: %v -> %v", dry, before, after)
				}
			}
			if _, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 90, "web-v2", 10), split.SetOptions{}); err != nil {
				t.Fatal(err)
			}
			s, err := r.Get(ctx, f.ns, "web-svc")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Backends, backends("web-v1", 90, "web-v2", 10)) || !s.Uniform {
				t.Errorf("Get = %+v, want web-v1=90 web-v2=10", s)
			}
			// What the server stores: quantities for v1alpha1, integers for v1alpha2 (both read
			// back through the v1alpha1 endpoint, the linkerd-smi storage version).
			raw, err := f.c.Dynamic.Resource(trafficSplits).Namespace(f.ns).Get(ctx, "web-svc-split", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			bs, _, _ := unstructured.NestedSlice(raw.Object, "spec", "backends")
			w := bs[1].(map[string]any)["weight"]
			if want := map[smi.Version]any{smi.V1alpha1: "10", smi.V1alpha2: int64(10)}[v]; w != want {
				t.Errorf("stored weight = %#v (%T), want %#v", w, w, want)
			}
			// The same object read through the other router version.
			other := map[smi.Version]smi.Version{smi.V1alpha1: smi.V1alpha2, smi.V1alpha2: smi.V1alpha1}[v]
			sc, _ := smi.NewClient(f.c.Config)
			if v == smi.V1alpha2 || other == smi.V1alpha1 {
				got, err := sc.Get(ctx, smi.V1alpha1, f.ns, "web-svc-split")
				if err != nil || got.Backends[0].Weight != 90 {
					t.Errorf("v1alpha1 read: %+v, %v", got, err)
				}
			}
		})
	}
}

func TestSMIQuantityWeightsReadAsIntegers(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "split.smi-spec.io/v1alpha1", "kind": "TrafficSplit",
		"metadata": map[string]any{"name": "legacy", "namespace": f.ns},
		"spec": map[string]any{"service": "web-svc", "backends": []any{
			map[string]any{"service": "web-v1", "weight": "750m"},
			map[string]any{"service": "web-v2", "weight": "250m"},
		}},
	}}
	if _, err := f.c.Dynamic.Resource(trafficSplits).Namespace(f.ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err := f.router(t, split.KindSMI, smi.V1alpha2).Get(ctx, f.ns, "web-svc")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Backends, backends("web-v1", 750, "web-v2", 250)) {
		t.Errorf("Get = %v, want 750/250", s.Backends)
	}
	// Rewriting it as v1alpha2 turns the weights into integers the v1alpha2 endpoint can decode.
	if _, err := f.router(t, split.KindSMI, smi.V1alpha2).SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 1, "web-v2", 3), split.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	sc, _ := smi.NewClient(f.c.Config)
	got, err := sc.Get(ctx, smi.V1alpha2, f.ns, "legacy")
	if err != nil || got.Backends[1].Weight != 3 {
		t.Errorf("v1alpha2 read after rewrite: %+v, %v", got, err)
	}
}

// profileRoutes are per-route policy routes as `trafficctl profile --emit httproute` writes
// them: matches, no backendRefs, parentRef group core kind Service.
func (f *fixture) profileRoutes(t *testing.T, gvr schema.GroupVersionResource) {
	t.Helper()
	f.createRoute(t, gvr, "web-svc-api-list", "web-svc", pathRule("Exact", "/api/list"))
	f.createRoute(t, gvr, "web-svc-api-vote", "web-svc", pathRule("PathPrefix", "/api/vote"), pathRule("RegularExpression", "/api/leaderboard/[^/]*"))
	f.createRoute(t, gvr, "other-svc-route", "other-svc", pathRule("PathPrefix", "/"))
}

func TestHTTPRouteRoutersWeightEveryRule(t *testing.T) {
	for _, tc := range []struct {
		kind split.Kind
		gvr  schema.GroupVersionResource
	}{{split.KindGateway, gatewayRoutes}, {split.KindLinkerd, linkerdRoutes}} {
		t.Run(string(tc.kind), func(t *testing.T) {
			weightEveryRule(t, tc.kind, tc.gvr)
		})
	}
}

// weightEveryRule sets weights through the router of kind over a generated per-route set of
// routes (gvr) and checks that every rule carries them.
func weightEveryRule(t *testing.T, kind split.Kind, gvr schema.GroupVersionResource) {
	t.Helper()
	f := setup(t)
	ctx := context.Background()
	f.profileRoutes(t, gvr)
	r := f.router(t, kind, "")
	s, err := r.Get(ctx, f.ns, "web-svc")
	if err != nil || len(s.Backends) != 0 || len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "no catch-all rule covers port(s) [8080]") {
		t.Fatalf("Get of per-route routes only: %+v, %v", s, err)
	}
	res, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 90, "web-v2", 10), split.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 3 rules of the profile routes + the created catch-all.
	if len(res.Changes) != 4 {
		t.Fatalf("changes = %d, want 4: %v", len(res.Changes), res.Changes)
	}
	l, err := f.c.Dynamic.Resource(gvr).Namespace(f.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	weighted := 0
	for _, o := range l.Items {
		rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
		for i, rule := range rules {
			refs, _ := rule.(map[string]any)["backendRefs"].([]any)
			if o.GetName() == "other-svc-route" {
				if len(refs) != 0 {
					t.Errorf("route of another Service got backendRefs: %v", refs)
				}
				continue
			}
			got := fmt.Sprint(refs)
			if !strings.Contains(got, "name:web-v1 port:8080 weight:90") || !strings.Contains(got, "name:web-v2 port:8080 weight:10") {
				t.Errorf("%s rule %d backendRefs = %s", o.GetName(), i, got)
			}
			weighted++
		}
	}
	if weighted != 4 {
		t.Errorf("weighted rules = %d, want 4", weighted)
	}
	s, err = r.Get(ctx, f.ns, "web-svc")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Uniform || !slices.Equal(s.Backends, backends("web-v1", 90, "web-v2", 10)) || len(s.Rules) != 4 || len(s.Warnings) != 0 {
		t.Errorf("Get = %+v", s)
	}
	// Shifting again changes only the weights; no second catch-all.
	res, err = r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 0, "web-v2", 100), split.SetOptions{})
	if err != nil || len(res.Changes) != 4 || slices.ContainsFunc(res.Changes, func(c split.Change) bool { return c.Created }) {
		t.Fatalf("shift: %+v, %v", res, err)
	}
	// Setting the same weights again is a no-op.
	res, err = r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 0, "web-v2", 100), split.SetOptions{})
	if err != nil || len(res.Changes) != 0 {
		t.Fatalf("same weights: %+v, %v", res, err)
	}

	abTwinsOnEveryRule(t, f, r)
}

// abTwinsOnEveryRule checks A/B through r: every weighted rule gets a header twin to web-v2,
// weights stay on the others, and clearing removes exactly the twins.
func abTwinsOnEveryRule(t *testing.T, f *fixture, r split.Router) {
	t.Helper()
	ctx := context.Background()
	hr := r.(split.HeaderRouter)
	if _, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 100, "web-v2", 0), split.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := hr.SetHeaderRoute(ctx, f.ns, "web-svc", split.HeaderMatch{Name: "x-canary", Value: "true"}, "web-v2", split.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 4 {
		t.Errorf("ab changes = %d, want 4: %v", len(res.Changes), res.Changes)
	}
	s, err := r.Get(ctx, f.ns, "web-svc")
	if err != nil {
		t.Fatal(err)
	}
	headers := 0
	for _, rule := range s.Rules {
		if rule.Header != nil {
			headers++
			if !slices.Equal(rule.Backends, backends("web-v2", 1)) || !strings.Contains(rule.Match, "header x-canary=true") {
				t.Errorf("header rule %+v", rule)
			}
		}
	}
	if headers != 4 || !s.Uniform || !slices.Equal(s.Backends, backends("web-v1", 100, "web-v2", 0)) {
		t.Errorf("after ab: %d header rules, split %+v", headers, s)
	}
	// Later weight shifts leave the header rules alone; a repeated ab is a no-op.
	if _, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 50, "web-v2", 50), split.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err = hr.SetHeaderRoute(ctx, f.ns, "web-svc", split.HeaderMatch{Name: "x-canary", Value: "true"}, "web-v2", split.SetOptions{})
	if err != nil || len(res.Changes) != 0 {
		t.Errorf("repeated ab: %+v, %v", res, err)
	}
	s, _ = r.Get(ctx, f.ns, "web-svc")
	if len(s.Rules) != 8 || !slices.Equal(s.Backends, backends("web-v1", 50, "web-v2", 50)) {
		t.Errorf("after shift with ab: %+v", s)
	}
	// Clearing removes exactly the header rules.
	res, err = hr.ClearHeaderRoute(ctx, f.ns, "web-svc", split.SetOptions{})
	if err != nil || len(res.Changes) != 4 || !res.Changes[0].Removed {
		t.Fatalf("clear: %+v, %v", res, err)
	}
	s, _ = r.Get(ctx, f.ns, "web-svc")
	if len(s.Rules) != 4 || !s.Uniform || !slices.Equal(s.Backends, backends("web-v1", 50, "web-v2", 50)) {
		t.Errorf("after clear: %+v", s)
	}
}

func TestInvalidInputChangesNothing(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.profileRoutes(t, gatewayRoutes)
	if _, err := f.router(t, split.KindSMI, smi.V1alpha1).SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 1), split.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		apex     string
		backends []split.Backend
		want     string
	}{
		{"unknown apex", "nope-svc", backends("web-v1", 1), "apex Service"},
		{"unknown backend", "web-svc", backends("web-v1", 90, "web-v9", 10), "backend Service"},
		{"port mismatch", "web-svc", backends("web-v1", 90, "web-v3", 10), "does not expose port 8080/TCP"},
		{"all zero", "web-svc", backends("web-v1", 0, "web-v2", 0), "all weights are 0"},
		{"negative", "web-svc", backends("web-v1", -1, "web-v2", 2), "negative"},
	}
	for _, kind := range []split.Kind{split.KindGateway, split.KindLinkerd, split.KindSMI} {
		r := f.router(t, kind, smi.V1alpha1)
		for _, tt := range tests {
			t.Run(string(kind)+"/"+tt.name, func(t *testing.T) {
				before := []map[string]string{f.snapshot(t, gatewayRoutes), f.snapshot(t, linkerdRoutes), f.snapshot(t, trafficSplits)}
				_, err := r.SetWeights(ctx, f.ns, tt.apex, tt.backends, split.SetOptions{})
				if !errors.Is(err, split.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error = %v, want ErrInvalid containing %q", err, tt.want)
				}
				after := []map[string]string{f.snapshot(t, gatewayRoutes), f.snapshot(t, linkerdRoutes), f.snapshot(t, trafficSplits)}
				for i := range before {
					if !mapsEqual(before[i], after[i]) {
						t.Errorf("objects changed: %v -> %v", before[i], after[i])
					}
				}
			})
		}
	}
}

// interfere runs other before the first PUT whose path contains name, so that the update
// trafficctl sends carries a resourceVersion the other writer has just made stale: a real
// conflict from the real API server, at the worst moment.
func interfere(cfg *rest.Config, name string, other func()) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	var once sync.Once
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPut && strings.HasSuffix(req.URL.Path, "/"+name) && req.URL.Query().Get("dryRun") == "" {
				once.Do(other)
			}
			return rt.RoundTrip(req)
		})
	})
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRacingWriters(t *testing.T) {
	type target struct {
		kind split.Kind
		gvr  schema.GroupVersionResource
		name string
	}
	targets := []target{
		{split.KindGateway, gatewayRoutes, "web-svc-split"},
		{split.KindLinkerd, linkerdRoutes, "web-svc-split"},
		{split.KindSMI, trafficSplits, "web-svc-split"},
	}
	for _, tg := range targets {
		t.Run(string(tg.kind), func(t *testing.T) {
			f := setup(t)
			ctx := context.Background()
			if _, err := f.router(t, tg.kind, smi.V1alpha1).SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 100, "web-v2", 0), split.SetOptions{}); err != nil {
				t.Fatal(err)
			}
			res := f.c.Dynamic.Resource(tg.gvr).Namespace(f.ns)
			racing := func(change func(*unstructured.Unstructured)) split.Router {
				cfg := interfere(f.c.Config, tg.name, func() {
					o, err := res.Get(ctx, tg.name, metav1.GetOptions{})
					if err != nil {
						t.Error(err)
						return
					}
					change(o)
					if _, err := res.Update(ctx, o, metav1.UpdateOptions{}); err != nil {
						t.Error(err)
					}
				})
				c, err := kube.NewClientsForConfig(cfg, f.ns, true, "")
				if err != nil {
					t.Fatal(err)
				}
				rf := &fixture{env: f.env, c: c, ns: f.ns}
				return rf.router(t, tg.kind, smi.V1alpha1)
			}
			label := func(o *unstructured.Unstructured) { o.SetLabels(map[string]string{"owner": "someone-else"}) }
			otherWeights := func(o *unstructured.Unstructured) { setWeights(t, o, tg.kind, 70, 30) }

			t.Run("other writer changed a label: both changes kept", func(t *testing.T) {
				if _, err := racing(label).SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 90, "web-v2", 10), split.SetOptions{}); err != nil {
					t.Fatal(err)
				}
				o, _ := res.Get(ctx, tg.name, metav1.GetOptions{})
				if o.GetLabels()["owner"] != "someone-else" || !strings.Contains(fmt.Sprint(o.Object["spec"]), "90") {
					t.Errorf("final object lost a change: labels %v spec %v", o.GetLabels(), o.Object["spec"])
				}
			})
			t.Run("other writer changed the weights: set refused, theirs kept", func(t *testing.T) {
				_, err := racing(otherWeights).SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 50, "web-v2", 50), split.SetOptions{})
				var wc *split.WeightsChangedError
				if !errors.As(err, &wc) || !errors.Is(err, split.ErrWeightsChanged) {
					t.Fatalf("error = %v, want WeightsChangedError", err)
				}
				if !strings.Contains(err.Error(), "web-v1=90 web-v2=10") || !strings.Contains(err.Error(), "web-v1=70 web-v2=30") {
					t.Errorf("error does not show the diff: %v", err)
				}
				s, _ := f.router(t, tg.kind, smi.V1alpha1).Get(ctx, f.ns, "web-svc")
				if !slices.Equal(s.Backends, backends("web-v1", 70, "web-v2", 30)) {
					t.Errorf("after refused set: %v, want the other writer's 70/30", s.Backends)
				}
			})
			t.Run("with force: ours win, their label kept", func(t *testing.T) {
				change := func(o *unstructured.Unstructured) {
					setWeights(t, o, tg.kind, 20, 80)
					o.SetLabels(map[string]string{"owner": "third"})
				}
				if _, err := racing(change).SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 60, "web-v2", 40), split.SetOptions{Force: true}); err != nil {
					t.Fatal(err)
				}
				s, _ := f.router(t, tg.kind, smi.V1alpha1).Get(ctx, f.ns, "web-svc")
				o, _ := res.Get(ctx, tg.name, metav1.GetOptions{})
				if !slices.Equal(s.Backends, backends("web-v1", 60, "web-v2", 40)) || o.GetLabels()["owner"] != "third" {
					t.Errorf("forced: weights %v labels %v", s.Backends, o.GetLabels())
				}
			})
		})
	}
}

// TestConcurrentSets runs several writers at once; each set either lands or is refused, and
// the final weights are exactly those of one that landed.
func TestConcurrentSets(t *testing.T) {
	for _, kind := range []split.Kind{split.KindGateway, split.KindSMI} {
		t.Run(string(kind), func(t *testing.T) {
			f := setup(t)
			ctx := context.Background()
			r := f.router(t, kind, smi.V1alpha2)
			if _, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 100, "web-v2", 0), split.SetOptions{}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			landed := map[int64]bool{}
			var wg sync.WaitGroup
			for i := int64(1); i <= 6; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := r.SetWeights(ctx, f.ns, "web-svc", []split.Backend{{Service: "web-v1", Weight: 100 - i}, {Service: "web-v2", Weight: i}}, split.SetOptions{})
					switch {
					case err == nil:
						mu.Lock()
						landed[i] = true
						mu.Unlock()
					case !errors.Is(err, split.ErrWeightsChanged):
						t.Errorf("writer %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			s, err := r.Get(ctx, f.ns, "web-svc")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d of 6 concurrent sets landed, the others were refused; final %s", len(landed), split.FormatBackends(s.Backends))
			if len(landed) == 0 || !landed[s.Backends[1].Weight] || !s.Uniform {
				t.Errorf("final %v not from a writer that landed (%v)", s.Backends, landed)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	sel, err := split.Select(ctx, f.c, split.KindAuto, f.ns, "web-svc", split.Options{})
	if err != nil || sel.Router.Kind() != split.KindGateway {
		t.Fatalf("nothing steering: %+v, %v; want gateway", sel, err)
	}
	if _, err := split.Select(ctx, f.c, split.KindAuto, f.ns, "nope", split.Options{}); !errors.Is(err, split.ErrInvalid) {
		t.Errorf("unknown apex: %v", err)
	}
	if _, err := split.Select(ctx, f.c, split.KindSMI, f.ns, "web-svc", split.Options{SMIVersion: "v1alpha3"}); !errors.Is(err, split.ErrInvalid) || !strings.Contains(err.Error(), "no Linkerd support") {
		t.Errorf("v1alpha3: %v", err)
	}
	if _, err := f.router(t, split.KindSMI, smi.V1alpha1).SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 1), split.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	sel, err = split.Select(ctx, f.c, split.KindAuto, f.ns, "web-svc", split.Options{})
	if err != nil || sel.Router.Kind() != split.KindSMI || !strings.Contains(sel.Reason, "TrafficSplit") {
		t.Fatalf("TrafficSplit steering: %+v, %v; want smi", sel, err)
	}
	f.createRoute(t, linkerdRoutes, "web-route", "web-svc", pathRule("PathPrefix", "/"))
	_, err = split.Select(ctx, f.c, split.KindAuto, f.ns, "web-svc", split.Options{})
	if !errors.Is(err, split.ErrAmbiguous) || !strings.Contains(err.Error(), "linkerd and smi") {
		t.Errorf("both steering: %v, want ErrAmbiguous naming both", err)
	}
	sel, err = split.Select(ctx, f.c, split.KindLinkerd, f.ns, "web-svc", split.Options{})
	if err != nil || sel.Router.Kind() != split.KindLinkerd {
		t.Errorf("explicit linkerd: %+v, %v", sel, err)
	}
	if len(sel.Warnings) != 1 || !strings.Contains(sel.Warnings[0], "also steered by smi (TrafficSplit") {
		t.Errorf("explicit linkerd next to a TrafficSplit: warnings %v", sel.Warnings)
	}
}

// setWeights rewrites the two weights of a TrafficSplit or of every rule of an HTTPRoute, as
// another tool would.
func setWeights(t *testing.T, o *unstructured.Unstructured, kind split.Kind, w1, w2 int64) {
	t.Helper()
	if kind == split.KindSMI {
		_ = unstructured.SetNestedSlice(o.Object, []any{
			map[string]any{"service": "web-v1", "weight": fmt.Sprint(w1)},
			map[string]any{"service": "web-v2", "weight": fmt.Sprint(w2)},
		}, "spec", "backends")
		return
	}
	rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
	for _, r := range rules {
		r.(map[string]any)["backendRefs"] = []any{
			map[string]any{"name": "web-v1", "port": int64(8080), "weight": w1},
			map[string]any{"name": "web-v2", "port": int64(8080), "weight": w2},
		}
	}
	_ = unstructured.SetNestedSlice(o.Object, rules, "spec", "rules")
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFailedWriteRollsBack makes the second of two route updates fail (another writer moves
// its weights) and checks that the first route, already written, is restored.
func TestFailedWriteRollsBack(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.createRoute(t, gatewayRoutes, "a-routes", "web-svc", pathRule("Exact", "/api/list"))
	f.createRoute(t, gatewayRoutes, "b-routes", "web-svc", pathRule("PathPrefix", "/"))
	r := f.router(t, split.KindGateway, "")
	if _, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 100, "web-v2", 0), split.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	res := f.c.Dynamic.Resource(gatewayRoutes).Namespace(f.ns)
	cfg := interfere(f.c.Config, "b-routes", func() {
		o, err := res.Get(ctx, "b-routes", metav1.GetOptions{})
		if err == nil {
			setWeights(t, o, split.KindGateway, 70, 30)
			_, err = res.Update(ctx, o, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Error(err)
		}
	})
	c, err := kube.NewClientsForConfig(cfg, f.ns, true, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = split.NewGatewayRouter(c, "v1").SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 50, "web-v2", 50), split.SetOptions{})
	if !errors.Is(err, split.ErrWeightsChanged) {
		t.Fatalf("error = %v, want ErrWeightsChanged", err)
	}
	s, err := r.Get(ctx, f.ns, "web-svc")
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range s.Rules {
		want := backends("web-v1", 100, "web-v2", 0)
		if strings.HasSuffix(rule.Object, "/b-routes") {
			want = backends("web-v1", 70, "web-v2", 30)
		}
		if !slices.Equal(rule.Backends, want) {
			t.Errorf("%s rule %d = %v, want %v (rolled back / other writer's)", rule.Object, rule.Rule, rule.Backends, want)
		}
	}

	// The same for a header route: the twins and the annotation written to a-routes go away.
	cfg = interfere(f.c.Config, "b-routes", func() {
		o, err := res.Get(ctx, "b-routes", metav1.GetOptions{})
		if err == nil {
			setWeights(t, o, split.KindGateway, 10, 90)
			_, err = res.Update(ctx, o, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Error(err)
		}
	})
	if c, err = kube.NewClientsForConfig(cfg, f.ns, true, ""); err != nil {
		t.Fatal(err)
	}
	_, err = split.NewGatewayRouter(c, "v1").SetHeaderRoute(ctx, f.ns, "web-svc", split.HeaderMatch{Name: "x-canary", Value: "1"}, "web-v2", split.SetOptions{})
	if !errors.Is(err, split.ErrWeightsChanged) {
		t.Fatalf("ab error = %v, want ErrWeightsChanged", err)
	}
	a, err := res.Get(ctx, "a-routes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules, _, _ := unstructured.NestedSlice(a.Object, "spec", "rules")
	if len(rules) != 1 || kube.Value(a.GetAnnotations(), kube.AnnotationSplitHeader) != "" {
		t.Errorf("a-routes not rolled back: %d rules, annotations %v", len(rules), a.GetAnnotations())
	}
}

// TestMultiPortApex creates one catch-all route per apex port, each sending to its own port.
func TestMultiPortApex(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	for _, name := range []string{"api-svc", "api-v1", "api-v2"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}, {Name: "admin", Port: 9990}}},
		}
		if _, err := f.c.Kube.CoreV1().Services(f.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r := f.router(t, split.KindLinkerd, "")
	res, err := r.SetWeights(ctx, f.ns, "api-svc", backends("api-v1", 3, "api-v2", 1), split.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 2 {
		t.Fatalf("changes = %v, want two created routes", res.Changes)
	}
	for _, port := range []string{"8080", "9990"} {
		o, err := f.c.Dynamic.Resource(linkerdRoutes).Namespace(f.ns).Get(ctx, "api-svc-split-"+port, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(o.Object["spec"]); strings.Count(got, "port:"+port) != 3 {
			t.Errorf("route for port %s: %s", port, got)
		}
	}
	// web-v3 lacks the apex's port: refused for a backend on one port only, nothing written.
	if _, err := r.SetWeights(ctx, f.ns, "web-svc", backends("web-v3", 1), split.SetOptions{}); !errors.Is(err, split.ErrInvalid) {
		t.Errorf("port mismatch: %v", err)
	}
}

// TestServiceProfileWarning: a ServiceProfile with routes makes Linkerd ignore HTTPRoutes.
func TestServiceProfileWarning(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	sp := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "linkerd.io/v1alpha2", "kind": "ServiceProfile",
		"metadata": map[string]any{"name": "web-svc." + f.ns + ".svc.cluster.local", "namespace": f.ns},
		"spec":     map[string]any{"routes": []any{map[string]any{"name": "GET /api/list", "condition": map[string]any{"method": "GET", "pathRegex": "/api/list"}}}},
	}}
	gvr := schema.GroupVersionResource{Group: "linkerd.io", Version: "v1alpha2", Resource: "serviceprofiles"}
	if _, err := f.c.Dynamic.Resource(gvr).Namespace(f.ns).Create(ctx, sp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := f.router(t, split.KindGateway, "").SetWeights(ctx, f.ns, "web-svc", backends("web-v1", 1), split.SetOptions{DryRun: kube.DryRunClient})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "Linkerd ignores HTTPRoutes for Service web-svc") {
		t.Errorf("warnings = %v", res.Warnings)
	}
}
