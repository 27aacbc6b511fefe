package merge

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/profiles/internal/profilestest"
)

// renderMerge is what `trafficctl profile --emit httproute --merge` prints: the changes
// (stderr) as comments, then the YAML stream.
func renderMerge(t testing.TB, m *RouteMerge) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, c := range m.Changes {
		buf.WriteString("# " + c + "\n")
	}
	for i, o := range m.Objects {
		out, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(out)
	}
	return buf.Bytes()
}

func readRoutesFile(t testing.TB, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ReadRouteObjects(file, data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func emojivotoRoutes(t testing.TB) *profiles.RouteObjects {
	t.Helper()
	plan := profilestest.OpenAPIPlan(t, profilestest.Spec("emojivoto-web.yaml"), profilestest.Options())
	return plan.RouteObjects()
}

func protoRoutes(t *testing.T) *profiles.RouteObjects {
	t.Helper()
	plan := profilestest.ProtoPlan(t, profiles.Options{Service: "emoji-svc", Namespace: "emojivoto", Timeout: "1s"})
	return plan.RouteObjects()
}

func findObject(objs []map[string]any, kind, name string) map[string]any {
	for _, o := range objs {
		if asString(o["kind"]) == kind && objectName(o) == name {
			return o
		}
	}
	return nil
}

func hasChange(changes []string, want string) bool {
	for _, c := range changes {
		if strings.Contains(c, want) {
			return true
		}
	}
	return false
}

// TestMergeHTTPRoutes merges the HTTPRoutes of the emojivoto web contract into routes a user
// edited (testdata/existing-httproutes.yaml).
func TestMergeHTTPRoutes(t *testing.T) {
	m, err := Routes(readRoutesFile(t, "testdata/existing-httproutes.yaml"), emojivotoRoutes(t))
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/golden/httproute.yaml", renderMerge(t, m))
	if got := objectName(m.Objects[0]); got != "web-admin" {
		t.Errorf("first object %q, want the hand-written web-admin", got)
	}
	if findObject(m.Objects, "HTTPRoute", "web-timeout-5s") != nil || findObject(m.Objects, "ConfigMap", "web-config") != nil {
		t.Error("kept an object the contract no longer needs, or a ConfigMap")
	}
	retry := findObject(m.Objects, "HTTPRoute", "web-retry-timeout-2s")
	ann := asMap(asMap(retry["metadata"])["annotations"])
	if ann["retry.linkerd.io/limit"] != "3" || ann[profiles.AnnotationTimeoutRequest] != "2s" {
		t.Errorf("annotations %v: want the hand-added limit and the contract's timeout", ann)
	}
	for _, o := range m.Objects {
		if !isGenerated(o) {
			continue
		}
		md := asMap(o["metadata"])
		for _, f := range serverSetMetadata {
			if _, ok := md[f]; ok {
				t.Errorf("%s: server-set metadata.%s kept", objectName(o), f)
			}
		}
		if parent := asMap(asSlice(asMap(o["spec"])["parentRefs"])[0]); parent["port"] != float64(8080) {
			t.Errorf("%s: parentRef %v lost its port", objectName(o), parent)
		}
		for _, r := range asSlice(asMap(o["spec"])["rules"]) {
			if len(asSlice(asMap(r)["backendRefs"])) != 2 {
				t.Errorf("%s: rule %v lost the split's backendRefs", objectName(o), r)
			}
		}
	}
	for _, want := range []string{
		`conflict: left "GET /api/leaderboard" to your HTTPRoute web-admin`,
		"conflict: HTTPRoute web-retry-timeout-2s: annotation timeout.linkerd.io/request=5s edited by hand is now 2s",
		"kept 1 hand-written rule(s) of HTTPRoute web-retry-timeout-2s",
		"removed HTTPRoute web-timeout-5s",
		"kubectl delete httproute web-timeout-5s -n demo",
		`moved route "GET /api/list" from HTTPRoute web-timeout-5s to web-retry-timeout-2s`,
		`updated route "GET /api/vote" (path regex ^/api/vote/?$ -> ^/api/vote$)`,
		"removed match GET ^/api/old$ from HTTPRoute web-timeout-2s",
		"left out ConfigMap web-config",
	} {
		if !hasChange(m.Changes, want) {
			t.Errorf("no change %q in:\n%s", want, strings.Join(m.Changes, "\n"))
		}
	}
}

// TestMergeGRPCRoutes merges the GRPCRoutes of the proto corpus into edited ones.
func TestMergeGRPCRoutes(t *testing.T) {
	m, err := Routes(readRoutesFile(t, "testdata/existing-grpcroutes.yaml"), protoRoutes(t))
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/golden/grpcroute.yaml", renderMerge(t, m))
	first := findObject(m.Objects, "GRPCRoute", "emoji-svc-grpc-timeout-1s")
	rules := asSlice(asMap(first["spec"])["rules"])
	if len(rules) == 0 || asString(asMap(asSlice(asMap(asSlice(asMap(rules[0])["matches"])[0])["headers"])[0])["name"]) != "x-tenant" {
		t.Errorf("the hand-written header match is not kept first: %v", rules)
	}
	for _, want := range []string{
		"removed match /emojivoto.v1.VotingService/VoteGone from GRPCRoute emoji-svc-grpc-timeout-1s",
		"conflict: GRPCRoute emoji-svc-grpc-retry-timeout-1s: annotation retry.linkerd.io/grpc=",
		`added route "/legacy.EmojiService/ListAll"`,
	} {
		if !hasChange(m.Changes, want) {
			t.Errorf("no change %q in:\n%s", want, strings.Join(m.Changes, "\n"))
		}
	}
}

// TestMergeRoutesCases edits the generated emojivoto routes the way users do and checks what a
// merge with the same contract keeps and reports.
// routesCase edits the generated objects as a user might have and says what merging the
// contract back into them must do.
type routesCase struct {
	name        string
	edit        func(objs []map[string]any) []map[string]any
	wantChanges []string // nil: no change at all, and the output is what was generated
	wantErr     string
	check       func(t *testing.T, out []map[string]any)
}

// handRoute is an HTTPRoute of the user's for the Service demo/web with one match.
func handRoute(name string, match map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": name, "namespace": "demo"},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"group": "core", "kind": "Service", "name": "web"}},
			"rules":      []any{map[string]any{"matches": []any{match}}},
		},
	}
}

func backend(name string) []any {
	return []any{map[string]any{"kind": "Service", "name": name, "port": float64(8080)}}
}

// ownershipCases are about whose objects are whose: the user's, other Services', generated.
func ownershipCases() []routesCase {
	return []routesCase{
		{name: "unchanged", edit: func(objs []map[string]any) []map[string]any { return objs }},
		{
			name: "a route object of the user's",
			edit: func(objs []map[string]any) []map[string]any {
				return append(objs, handRoute("web-slow", map[string]any{"path": map[string]any{"type": "Exact", "value": "/slow"}}))
			},
			wantChanges: []string{"kept hand-written HTTPRoute web-slow"},
		},
		{
			name: "the user's catch-all wins",
			edit: func(objs []map[string]any) []map[string]any {
				return append(objs, handRoute("web-default", map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}))
			},
			wantChanges: []string{"conflict: left the catch-all rule to your HTTPRoute web-default"},
			check: func(t *testing.T, out []map[string]any) {
				web := findObject(out, "HTTPRoute", "web")
				if web != nil {
					t.Errorf("the generated catch-all object is still there: %v", web)
				}
			},
		},
		{
			name: "another Service's routes",
			edit: func(objs []map[string]any) []map[string]any {
				o := handRoute("books", map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}})
				asMap(asSlice(asMap(o["spec"])["parentRefs"])[0])["name"] = "books"
				asMap(o["metadata"])["labels"] = map[string]any{kube.LabelManagedBy: kube.ManagedBy}
				return append(objs, o)
			},
			wantChanges: []string{"left out HTTPRoute demo/books: it is not a route of the Service demo/web"},
			check: func(t *testing.T, out []map[string]any) {
				if len(out) != 3 {
					t.Errorf("%d objects, want the 3 generated", len(out))
				}
			},
		},
		{
			// A consumer route (another namespace's clients) and a route whose parentRef names
			// a Service web of another namespace are not this Service's routes.
			name: "routes of another namespace",
			edit: func(objs []map[string]any) []map[string]any {
				consumer := handRoute("web-consumer", map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}})
				asMap(consumer["metadata"])["namespace"] = "other"
				asMap(asSlice(asMap(consumer["spec"])["parentRefs"])[0])["namespace"] = "demo"
				elsewhere := handRoute("web-elsewhere", map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}})
				asMap(asSlice(asMap(elsewhere["spec"])["parentRefs"])[0])["namespace"] = "other"
				return append(objs, consumer, elsewhere)
			},
			wantChanges: []string{
				"left out HTTPRoute other/web-consumer: it is not a route of the Service demo/web",
				"left out HTTPRoute demo/web-elsewhere: it is not a route of the Service demo/web",
			},
			check: func(t *testing.T, out []map[string]any) {
				if len(out) != 3 {
					t.Errorf("%d objects, want the 3 generated", len(out))
				}
			},
		},
		{
			// Read back with kubectl get, the user's object carries what the server set: none
			// of it is printed (nor applied: the CLI applies generated objects only).
			name: "a route of the user's read from the cluster",
			edit: func(objs []map[string]any) []map[string]any {
				o := handRoute("web-slow", map[string]any{"path": map[string]any{"type": "Exact", "value": "/slow"}})
				md := asMap(o["metadata"])
				md["uid"], md["resourceVersion"], md["generation"] = "0e1f", "42", float64(3)
				md["managedFields"] = []any{map[string]any{"manager": "kubectl"}}
				o["status"] = map[string]any{"parents": []any{}}
				return append(objs, o)
			},
			wantChanges: []string{"kept hand-written HTTPRoute web-slow"},
			check: func(t *testing.T, out []map[string]any) {
				o := findObject(out, "HTTPRoute", "web-slow")
				md := asMap(o["metadata"])
				for _, f := range []string{"uid", "resourceVersion", "generation", "managedFields"} {
					if _, ok := md[f]; ok {
						t.Errorf("metadata.%s kept", f)
					}
				}
				if _, ok := o["status"]; ok {
					t.Error("status kept")
				}
			},
		},
		{
			name: "a route of the user's named like a generated one",
			edit: func(objs []map[string]any) []map[string]any {
				delete(asMap(asMap(findObject(objs, "HTTPRoute", "web-timeout-2s")["metadata"])), "labels")
				return objs
			},
			wantErr: "your HTTPRoute web-timeout-2s has no app.kubernetes.io/managed-by=trafficctl label but the name of a generated one",
		},
	}
}

// policyCases are about what the user changed in generated objects: rule fields, annotations,
// rules of their own, and what new objects inherit.
func policyCases() []routesCase {
	return []routesCase{
		{
			name: "rules with different backendRefs",
			edit: func(objs []map[string]any) []map[string]any {
				rules := asSlice(asMap(findObject(objs, "HTTPRoute", "web-timeout-2s")["spec"])["rules"])
				rule := asMap(rules[0])
				matches := asSlice(rule["matches"])
				rule["matches"] = matches[:1]
				rule["backendRefs"] = backend("web-v1")
				asMap(findObject(objs, "HTTPRoute", "web-timeout-2s")["spec"])["rules"] = []any{rule, map[string]any{"matches": matches[1:], "backendRefs": backend("web-v2")}}
				return objs
			},
			wantChanges: []string{"conflict: the generated rules of HTTPRoute web-timeout-2s had different backendRefs"},
		},
		{
			name: "a policy annotation removed by hand",
			edit: func(objs []map[string]any) []map[string]any {
				delete(asMap(asMap(findObject(objs, "HTTPRoute", "web-retry-timeout-2s")["metadata"])["annotations"]), profiles.AnnotationRetryHTTP)
				return objs
			},
			wantChanges: []string{"conflict: HTTPRoute web-retry-timeout-2s: annotation retry.linkerd.io/http=5xx, missing from your file, is back"},
		},
		{
			name: "hand-written rules of a policy the contract dropped",
			edit: func(objs []map[string]any) []map[string]any {
				o := handRoute("web-timeout-9s", map[string]any{"path": map[string]any{"type": "Exact", "value": "/x"}, "method": "GET"})
				asMap(o["metadata"])["labels"] = map[string]any{kube.LabelManagedBy: kube.ManagedBy}
				return append(objs, o)
			},
			wantChanges: []string{"kept HTTPRoute web-timeout-9s for its 1 hand-written rule(s)"},
			check: func(t *testing.T, out []map[string]any) {
				if o := findObject(out, "HTTPRoute", "web-timeout-9s"); o == nil || len(asSlice(asMap(o["spec"])["rules"])) != 1 {
					t.Errorf("the object with the user's rule: %v", o)
				}
			},
		},
		{
			name: "too many rules after the merge",
			edit: func(objs []map[string]any) []map[string]any {
				spec := asMap(findObject(objs, "HTTPRoute", "web")["spec"])
				for i := range profiles.MaxRulesPerRoute {
					spec["rules"] = append(asSlice(spec["rules"]), map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "Exact", "value": "/r" + string(rune('a'+i))}}}})
				}
				return objs
			},
			wantErr: "HTTPRoute web would have 17 rules, over Gateway API's limit of 16",
		},
		{
			name: "a new policy object takes what all the old ones shared",
			edit: func(objs []map[string]any) []map[string]any {
				var out []map[string]any
				for _, o := range objs {
					if objectName(o) == "web-timeout-2s" {
						continue // as if GET/POST /api/vote were new in the contract
					}
					asMap(asSlice(asMap(o["spec"])["parentRefs"])[0])["port"] = float64(8080)
					for _, r := range asSlice(asMap(o["spec"])["rules"]) {
						asMap(r)["backendRefs"] = backend("web-v2")
					}
					out = append(out, o)
				}
				return out
			},
			wantChanges: []string{"added HTTPRoute web-timeout-2s", "gave HTTPRoute web-timeout-2s the spec.parentRefs", "gave the rules of HTTPRoute web-timeout-2s the backendRefs", `added route "POST /api/vote"`},
			check: func(t *testing.T, out []map[string]any) {
				o := findObject(out, "HTTPRoute", "web-timeout-2s")
				if asMap(asSlice(asMap(o["spec"])["parentRefs"])[0])["port"] != float64(8080) || asSlice(asMap(asSlice(asMap(o["spec"])["rules"])[0])["backendRefs"]) == nil {
					t.Errorf("new object without the shared port and backendRefs: %v", o)
				}
			},
		},
	}
}

func TestMergeRoutesCases(t *testing.T) {
	ro := emojivotoRoutes(t)
	generated, _, err := generatedManifests(ro)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range append(ownershipCases(), policyCases()...) {
		t.Run(tc.name, func(t *testing.T) {
			var existing []map[string]any
			for _, o := range generated {
				existing = append(existing, clone(o).(map[string]any))
			}
			m, err := Routes(tc.edit(existing), ro)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantChanges == nil {
				if len(m.Changes) != 0 || !sameJSON(m.Objects, generated) {
					t.Errorf("changes %q; objects equal to the generated ones: %t", m.Changes, sameJSON(m.Objects, generated))
				}
			}
			for _, want := range tc.wantChanges {
				if !hasChange(m.Changes, want) {
					t.Errorf("no change %q in:\n%s", want, strings.Join(m.Changes, "\n"))
				}
			}
			if tc.check != nil {
				tc.check(t, m.Objects)
			}
		})
	}
}

func TestReadRouteObjectsErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"not yaml", "kind: [", "document 1: not YAML or JSON"},
		{"a scalar", "just text", "document 1: not a Kubernetes object"},
		{"no name", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n", "needs a kind and a metadata.name"},
		{"list item", "apiVersion: v1\nkind: List\nitems:\n- 3\n", "document 1, items[0]: not a Kubernetes object"},
		{"bad list", "apiVersion: v1\nkind: List\nitems: 3\n", "a List's items must be a list"},
		{"wrong field type", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: web}\nspec: {rules: {}}\n", "invalid HTTPRoute web"},
		{"twice", "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: a}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: a}\n", "document 2: GRPCRoute a appears twice"},
		{"no routes", "apiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\nmetadata: {name: web.demo.svc.cluster.local}\n", "no HTTPRoute or GRPCRoute"},
		{"linkerd's own HTTPRoute", "apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\nmetadata: {name: web}\n", "no HTTPRoute or GRPCRoute"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRouteObjects("x.yaml", []byte(tc.data))
			if err == nil || !profiles.IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an input error containing %q", err, tc.want)
			}
		})
	}
}

// FuzzReadRouteObjects: any file either fails as bad input or merges without panicking into
// objects that all have a kind and a name.
func FuzzReadRouteObjects(f *testing.F) {
	// The fixtures, the merged goldens and the generated routes of pkg/profiles' goldens.
	files, _ := filepath.Glob("testdata/existing-*routes.yaml")
	merged, _ := filepath.Glob("testdata/golden/*route.yaml")
	generated, _ := filepath.Glob(filepath.Join(profilestest.Testdata, "golden", "*route.yaml"))
	for _, file := range append(append(files, merged...), generated...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: a, labels: {app.kubernetes.io/managed-by: trafficctl}}\nspec: {rules: [{}, {matches: [{method: {service: s, method: m, type: Exact}}]}]}\n"))
	ro := emojivotoRoutes(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := ReadRouteObjects("fuzz.yaml", data)
		if err != nil {
			if !profiles.IsInputError(err) {
				t.Fatalf("error is not an InputError: %v", err)
			}
			return
		}
		m, err := Routes(objs, ro)
		if err != nil {
			return
		}
		for _, o := range m.Objects {
			if asString(o["kind"]) == "" || objectName(o) == "" {
				t.Fatalf("merged object without kind or name: %v", o)
			}
		}
	})
}
