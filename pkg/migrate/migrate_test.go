package migrate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// plan reads a YAML stream and migrates it, failing the test on error.
func plan(t *testing.T, yamlText string) []*Migration {
	t.Helper()
	in, err := Read("test", []byte(yamlText))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Plan(in, Options{Emit: EmitGateway, Port: 8080})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func emojivoto(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, f := range []string{"web-svc.yaml", "emoji-svc.yaml", "voting-svc.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "emojivoto", "profiles", f))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.String()
}

const overlapping = `apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {name: api.shop.svc.cluster.local, namespace: shop}
spec:
  retryBudget: {retryRatio: 1.5, minRetriesPerSecond: 5, ttl: 10s}
  routes:
  - name: list
    condition: {pathRegex: /api/list}
    timeout: 1s
  - name: api
    condition: {method: GET, pathRegex: /api/.*}
    isRetryable: true
    responseClasses:
    - condition: {status: {min: 500, max: 504}}
      isFailure: true
    - condition: {status: {min: 505, max: 599}}
    - condition: {status: {min: 429, max: 429}}
      isFailure: true
    timeout: 2s
`

func TestPlanEquivalent(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		kinds     string
		wantNotes []string
	}{
		{"emojivoto web", emojivoto(t), "HTTPRoute", []string{"retry.linkerd.io/limit: 1"}},
		{"overlapping routes narrowed", overlapping, "HTTPRoute", []string{
			`route "api": regex narrowed`, "retry.linkerd.io/limit: 2", `route "api": response classes become retry.linkerd.io/http: 429,500-504`,
		}},
		{"gRPC profile", emojivoto(t), "GRPCRoute", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := plan(t, tt.input)
			var kinds []string
			for _, m := range ms {
				if m.Proof.Verdict != VerdictEquivalent || m.Proof.Method != MethodAutomata {
					t.Errorf("%s: proof %s, %s: %v", m.Service, m.Proof.Verdict, m.Proof.Method, m.Proof.Differences)
				}
				for _, r := range m.Routes {
					kinds = append(kinds, r.GetKind())
				}
				notes := strings.Join(m.Notes, "\n")
				for _, w := range tt.wantNotes {
					if !strings.Contains(notes, w) && ms[0] == m {
						t.Errorf("%s: notes lack %q:\n%s", m.Service, w, notes)
					}
				}
			}
			if !strings.Contains(strings.Join(kinds, ","), tt.kinds) {
				t.Errorf("kinds %v lack %s", kinds, tt.kinds)
			}
		})
	}
}

// edit returns a deep copy of routes with f applied to the named route.
func edit(routes []*unstructured.Unstructured, name string, f func(u *unstructured.Unstructured)) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(routes))
	for i, r := range routes {
		out[i] = r.DeepCopy()
		if r.GetName() == name {
			f(out[i])
		}
	}
	return out
}

func setRules(u *unstructured.Unstructured, f func(rules []any)) {
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	f(rules)
	_ = unstructured.SetNestedSlice(u.Object, rules, "spec", "rules")
}

func TestPlantedDifferences(t *testing.T) {
	web := plan(t, emojivoto(t))[0]
	tests := []struct {
		name   string
		routes []*unstructured.Unstructured
		want   string // in some difference
	}{
		{"lost timeout", edit(web.Routes, "web-svc-timeout-2s", func(u *unstructured.Unstructured) {
			a := u.GetAnnotations()
			delete(a, AnnotationTimeoutRequest)
			u.SetAnnotations(a)
		}), `GET /api/vote: before route "GET /api/vote" (timeout=2s)`},
		{"widened regex", edit(web.Routes, "web-svc-retry-timeout-1s", func(u *unstructured.Unstructured) {
			setRules(u, func(rules []any) {
				_ = unstructured.SetNestedField(rules[1].(map[string]any)["matches"].([]any)[0].(map[string]any), "/api/.*", "path", "value")
			})
		}), `GET /api/: before no route`},
		{"lost catch-all", edit(web.Routes, "web-svc-default", func(u *unstructured.Unstructured) {
			setRules(u, func(rules []any) {
				rules[0].(map[string]any)["matches"] = []any{map[string]any{"path": map[string]any{"type": "Exact", "value": "/x"}}}
			})
		}), "no rule: 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := web.ProveAgainst(tt.routes)
			if p.Verdict != VerdictDifferent {
				t.Fatalf("verdict %s, want %s", p.Verdict, VerdictDifferent)
			}
			var all []string
			for _, d := range p.Differences {
				all = append(all, d.String())
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Errorf("differences lack %q:\n%s", tt.want, strings.Join(all, "\n"))
			}
		})
	}
}

func TestReorderedRouteFound(t *testing.T) {
	orig := plan(t, overlapping)[0]
	reordered := strings.Replace(strings.Replace(overlapping, "  - name: list\n    condition: {pathRegex: /api/list}\n    timeout: 1s\n", "", 1),
		"    timeout: 2s\n", "    timeout: 2s\n  - name: list\n    condition: {pathRegex: /api/list}\n    timeout: 1s\n", 1)
	m := plan(t, reordered)[0]
	p := m.ProveAgainst(orig.Routes)
	if p.Verdict != VerdictDifferent || len(p.Differences) == 0 || !strings.HasPrefix(p.Differences[0].String(), `GET /api/list: before route "api"`) {
		t.Fatalf("reordered routes: %s %v", p.Verdict, p.Differences)
	}
}

func TestSplits(t *testing.T) {
	input := emojivoto(t) + `
---
apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata: {name: web-svc, namespace: emojivoto}
spec:
  service: web-svc
  backends:
  - {service: web-v1, weight: 900m}
  - {service: web-v2, weight: 100m}
`
	web := plan(t, input)[0]
	if len(web.Sources) != 2 || web.Proof.Verdict != VerdictEquivalent {
		t.Fatalf("sources %v, proof %+v", web.Sources, web.Proof)
	}
	for _, r := range web.Routes {
		rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
		for i, rule := range rules {
			refs, _ := rule.(map[string]any)["backendRefs"].([]any)
			if len(refs) != 2 {
				t.Errorf("%s rule %d: backendRefs %v, want both versions", r.GetName(), i+1, refs)
			}
		}
	}
	lost := edit(web.Routes, "web-svc-timeout-2s", func(u *unstructured.Unstructured) {
		setRules(u, func(rules []any) { delete(rules[0].(map[string]any), "backendRefs") })
	})
	if p := web.ProveAgainst(lost); p.Verdict != VerdictDifferent || !strings.Contains(p.Differences[0].Old, "web-v2:8080=100") {
		t.Errorf("a rule without the split's weights must differ: %+v", p)
	}
	if _, err := Plan(&Input{Splits: web.splitsForTest()}, Options{}); err == nil || !strings.Contains(err.Error(), "--port") {
		t.Errorf("a TrafficSplit without --port: err %v", err)
	}
}

func TestUnmodelledAndSampling(t *testing.T) {
	tests := []struct {
		name, input string
		method      ProofMethod
		verdict     Verdict
	}{
		{"not condition", `apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {name: a.ns.svc.cluster.local}
spec:
  routes:
  - name: not-admin
    condition: {all: [{pathRegex: /.*}, {not: {pathRegex: /admin}}]}
    timeout: 1s
`, MethodAutomata, VerdictDifferent},
		{"anchored regex", `apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {name: a.ns.svc.cluster.local}
spec:
  routes:
  - name: anchored
    condition: {pathRegex: '^/a$'}
    timeout: 1s
`, MethodSampling, VerdictEquivalent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := plan(t, tt.input)[0]
			if m.Proof.Method != tt.method || m.Proof.Verdict != tt.verdict {
				t.Errorf("proof %s, %s (want %s, %s): %v", m.Proof.Verdict, m.Proof.Method, tt.verdict, tt.method, m.Proof.Differences)
			}
		})
	}
}

func TestFailureStatuses(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"default", "[]", "5xx"},
		{"range", `[{condition: {status: {min: 500, max: 504}}, isFailure: true}, {condition: {status: {min: 500}}}]`, "500-504"},
		{"not", `[{condition: {not: {status: {min: 200, max: 499}}}, isFailure: true}]`, "100-199,500-599"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Read("t", []byte("apiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\nmetadata: {name: a}\nspec:\n  routes:\n  - name: r\n    condition: {pathRegex: /}\n    responseClasses: "+tt.input+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := failureStatuses(in.Profiles[0].Spec.Routes[0].ResponseClasses); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name, input      string
		profiles, splits int
		ignored          int
		wantErr          bool
	}{
		{"list", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: linkerd.io/v1alpha2, kind: ServiceProfile, metadata: {name: a}, spec: {}}\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n", 1, 0, 1, false},
		{"json", `{"apiVersion":"split.smi-spec.io/v1alpha2","kind":"TrafficSplit","metadata":{"name":"s"},"spec":{"service":"a","backends":[{"service":"b","weight":1}]}}`, 0, 1, 0, false},
		{"bad version", "apiVersion: split.smi-spec.io/v9\nkind: TrafficSplit\nmetadata: {name: s}\n", 0, 0, 0, true},
		{"not yaml", "a: [", 0, 0, 0, true},
		{"empty", "", 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Read("t", []byte(tt.input))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrInput) {
					t.Errorf("err %v does not wrap ErrInput", err)
				}
				return
			}
			if len(in.Profiles) != tt.profiles || len(in.Splits) != tt.splits || len(in.Ignored) != tt.ignored {
				t.Errorf("read %d profiles, %d splits, %d ignored", len(in.Profiles), len(in.Splits), len(in.Ignored))
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(overlapping))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: split.smi-spec.io/v1alpha1, kind: TrafficSplit, metadata: {name: s}, spec: {service: a, backends: [{service: b, weight: 1}]}}]"))
	f.Add([]byte("apiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\nmetadata: {name: a}\nspec: {routes: [{name: r, condition: {not: {pathRegex: '('}}}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := Read("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("error %v does not wrap ErrInput", err)
			}
			return
		}
		for _, sp := range in.Profiles {
			if sp.Metadata.Name == "" {
				t.Fatal("a ServiceProfile without a name was read")
			}
		}
		for _, ts := range in.Splits {
			if ts.Service == "" {
				t.Fatal("a TrafficSplit without spec.service was read")
			}
		}
	})
}
