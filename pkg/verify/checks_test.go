package verify

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// secured is a namespace that passes every manifest check: web's pods serve port 8080, a Server
// covers it and an AuthorizationPolicy targets the Server, and the one route has a catch-all.
const secured = `
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: ns, labels: {app: web}}
spec:
  containers:
  - name: web
    image: web:v1
    ports: [{name: http, containerPort: 8080}]
  - name: linkerd-proxy
    image: proxy:v1
    ports: [{name: linkerd-admin, containerPort: 4191}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: web-http, namespace: ns}
spec:
  podSelector: {matchLabels: {app: web}}
  port: 8080
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-http, namespace: ns}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}
  requiredAuthenticationRefs: [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: callers}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: ns}
spec:
  parentRefs: [{group: core, kind: Service, name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
  - matches: [{path: {type: PathPrefix, value: /}}]
`

func objects(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(strings.Join(docs, "\n---\n"), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("fixture: %v\n%s", err, doc)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

// without drops the fixture documents whose text contains any of the markers.
func without(doc string, markers ...string) string {
	var keep []string
	for _, d := range strings.Split(doc, "\n---\n") {
		drop := false
		for _, m := range markers {
			drop = drop || strings.Contains(d, m)
		}
		if !drop {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, "\n---\n")
}

func runChecks(t *testing.T, inv *Inventory) []Finding {
	t.Helper()
	out, err := Manifests(inv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCases are namespaces as YAML documents and the findings verify must report on them.
var checkCases = []struct {
	name string
	docs string
	want []string // "check: object" prefixes, in order
}{
	{name: "secured namespace passes", docs: secured},
	{
		name: "unmeshed pod",
		docs: strings.Replace(secured, "  - name: linkerd-proxy\n    image: proxy:v1\n    ports: [{name: linkerd-admin, containerPort: 4191}]\n", "", 1),
		want: []string{"unmeshed: Pod/web-1"},
	},
	{
		name: "native sidecar proxy counts as meshed",
		docs: strings.Replace(secured, "  - name: linkerd-proxy\n    image: proxy:v1\n    ports: [{name: linkerd-admin, containerPort: 4191}]\n",
			"  initContainers:\n  - name: linkerd-proxy\n    image: proxy:v1\n", 1),
	},
	{
		name: "port without Server",
		docs: without(secured, "kind: Server\n"),
		want: []string{"uncovered-port: Service/web port 80/http"},
	},
	{
		name: "Server on another port",
		docs: strings.Replace(secured, "  port: 8080\n", "  port: 9090\n", 1),
		want: []string{"uncovered-port: Service/web port 80/http"},
	},
	{
		name: "Server selecting other pods",
		docs: strings.Replace(secured, "podSelector: {matchLabels: {app: web}}", "podSelector: {matchLabels: {app: api}}", 1),
		want: []string{"uncovered-port: Service/web port 80/http"},
	},
	{
		name: "Server without authorization",
		docs: without(secured, "kind: AuthorizationPolicy"),
		want: []string{"unauthorized-server: Service/web port 80/http"},
	},
	{
		name: "namespace-wide authorization covers the Server",
		docs: strings.Replace(secured, "targetRef: {group: policy.linkerd.io, kind: Server, name: web-http}", "targetRef: {group: core, kind: Namespace, name: ns}", 1),
	},
	{
		name: "legacy ServerAuthorization covers the Server",
		docs: without(secured, "kind: AuthorizationPolicy") + `
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {name: web, namespace: ns}
spec:
  server: {name: web-http}
  client: {meshTLS: {serviceAccounts: [{name: bot}]}}
`,
	},
	{
		name: "route without catch-all",
		docs: strings.Replace(secured, "  - matches: [{path: {type: PathPrefix, value: /}}]\n", "", 1),
		want: []string{"no-catch-all: HTTPRoute/web"},
	},
	{
		name: "header match is not a catch-all",
		docs: strings.Replace(secured, "{path: {type: PathPrefix, value: /}}", "{path: {type: PathPrefix, value: /}, headers: [{name: x, value: y}]}", 1),
		want: []string{"no-catch-all: HTTPRoute/web"},
	},
	{
		name: "rule without matches is a catch-all",
		docs: strings.Replace(secured, "  - matches: [{path: {type: PathPrefix, value: /}}]\n", "  - backendRefs: [{name: web, port: 80}]\n", 1),
	},
	{
		name: "ServiceProfile overriding the route",
		docs: secured + `
---
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {name: web.ns.svc.cluster.local, namespace: ns}
spec:
  routes: [{name: GET /api, condition: {method: GET, pathRegex: /api}}]
`,
		want: []string{"profile-overrides-route: ServiceProfile/web.ns.svc.cluster.local"},
	},
	{
		name: "empty ServiceProfile overrides nothing",
		docs: secured + `
---
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {name: web.ns.svc.cluster.local, namespace: ns}
spec: {}
`,
	},
}

func TestChecks(t *testing.T) {
	for _, tc := range checkCases {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := NewInventory("ns", objects(t, tc.docs))
			if err != nil {
				t.Fatal(err)
			}
			got := runChecks(t, inv)
			if len(got) != len(tc.want) {
				t.Fatalf("findings = %v, want %v", got, tc.want)
			}
			for i, f := range got {
				if !strings.HasPrefix(f.String(), tc.want[i]+": ") {
					t.Errorf("finding %d = %q, want prefix %q", i, f, tc.want[i])
				}
			}
		})
	}
}

func TestGRPCRouteCatchAll(t *testing.T) {
	route := `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: voting, namespace: ns}
spec:
  parentRefs: [{group: core, kind: Service, name: voting}]
  rules:
  - matches: [{method: {service: emojivoto.v1.VotingService, method: Results}}]
`
	for _, tc := range []struct {
		name, extra string
		want        int
	}{
		{name: "method match only", want: 1},
		{name: "rule without matches", extra: "  - backendRefs: [{name: voting, port: 8080}]\n", want: 0},
		{name: "empty method match", extra: "  - matches: [{method: {}}]\n", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := NewInventory("ns", objects(t, route+tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			if got := CatchAll(inv); len(got) != tc.want {
				t.Errorf("findings = %v, want %d", got, tc.want)
			}
		})
	}
}

// FuzzManifests feeds arbitrary namespace objects (they are user-authored and may be malformed,
// for example stored under an older schema) to every manifest check: none may panic.
func FuzzManifests(f *testing.F) {
	f.Add(secured)
	f.Add(without(secured, "kind: Server\n"))
	f.Add("apiVersion: policy.linkerd.io/v1beta3\nkind: Server\nmetadata: {name: s, namespace: ns}\n")
	f.Add("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: ns}\nspec: {parentRefs: [1, {kind: Service}], rules: [{matches: [7]}]}\n")
	f.Add("apiVersion: linkerd.io/v1alpha2\nkind: ServiceProfile\nmetadata: {name: a.ns.svc, namespace: ns}\nspec: {routes: 3}\n")
	f.Fuzz(func(t *testing.T, docs string) {
		var objs []*unstructured.Unstructured
		for _, doc := range strings.Split(docs, "\n---\n") {
			var m map[string]any
			if yaml.Unmarshal([]byte(doc), &m) != nil || m == nil {
				continue
			}
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
		inv, err := NewInventory("ns", objs)
		if err != nil {
			return
		}
		_, _ = Manifests(inv)
	})
}
