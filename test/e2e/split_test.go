package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/split"
)

var gatewayHTTPRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// splitNamespace makes a namespace with apex web-svc and versions web-v1, web-v2 on 8080 and
// web-v3 on 9090 only.
func splitNamespace(t *testing.T, env *testenv.Env) string {
	t.Helper()
	ns := env.Namespace(t)
	c := env.Clients(t, ns)
	for name, port := range map[string]int32{"web-svc": 8080, "web-v1": 8080, "web-v2": 8080, "web-v3": 9090} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port}}},
		}
		if _, err := c.Kube.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

// clusterCLI returns runCLI against the test API server, in a new namespace with the
// Services of splitNamespace, and that namespace.
func clusterCLI(t *testing.T, env *testenv.Env) (run func(args ...string) (int, string, string), ns string) {
	ns = splitNamespace(t, env)
	k := []string{"--kubeconfig", env.Kubeconfig, "-n", ns}
	return func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append(args, k...)...)
	}, ns
}

func TestSplitCommands(t *testing.T) {
	env := testenv.Require(t)
	run, ns := clusterCLI(t, env)

	code, _, errOut := run("split", "get", "web-svc")
	if code != cli.ExitError || !strings.Contains(errOut, "not split yet") || !strings.Contains(errOut, "trafficctl split set web-svc") {
		t.Errorf("get before set: exit %d, stderr %q", code, errOut)
	}

	code, out, errOut := run("split", "set", "web-svc", "web-v1=90", "web-v2=10")
	if code != cli.ExitOK || !strings.Contains(out, "HTTPRoute.gateway.networking.k8s.io "+ns+"/web-svc-split rule 0 (PathPrefix /): created with web-v1=90 web-v2=10") {
		t.Fatalf("set: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}

	code, out, _ = run("split", "get", "web-svc", "-o", "json")
	var s split.Split
	if code != cli.ExitOK || json.Unmarshal([]byte(out), &s) != nil || s.Router != split.KindGateway || len(s.Backends) != 2 || s.Backends[1] != (split.Backend{Service: "web-v2", Weight: 10}) {
		t.Fatalf("get -o json: exit %d, %s", code, out)
	}
	code, out, _ = run("split", "get", "web-svc")
	if code != cli.ExitOK {
		t.Errorf("get: exit %d", code)
	}
	for _, want := range []string{"ROUTER  gateway", "web-v1   90      90%", "web-v2   10      10%", "web-svc-split  0     PathPrefix /  web-v1=90 web-v2=10"} {
		if !strings.Contains(out, want) {
			t.Errorf("get table lacks %q:\n%s", want, out)
		}
	}

	rv := func() string {
		o, err := env.Clients(t, ns).Dynamic.Resource(gatewayHTTPRoutes).Namespace(ns).Get(context.Background(), "web-svc-split", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return o.GetResourceVersion()
	}
	before := rv()
	for _, mode := range []string{"client", "server"} {
		code, out, errOut = run("split", "set", "web-svc", "web-v1=50", "web-v2=50", "--dry-run="+mode)
		if code != cli.ExitOK || !strings.Contains(out, "web-v1=90 web-v2=10 -> web-v1=50 web-v2=50") || !strings.Contains(out, "dry run: "+mode+", nothing written") {
			t.Errorf("dry run %s: exit %d\n%s%s", mode, code, out, errOut)
		}
	}
	if rv() != before {
		t.Errorf("dry runs changed the route")
	}

	code, out, errOut = run("split", "ab", "web-svc", "--header", "x-canary=true", "--to", "web-v2")
	if code != cli.ExitOK || !strings.Contains(out, "rule 1 (PathPrefix /, header x-canary=true): web-v1=90 web-v2=10 -> web-v2=1") {
		t.Errorf("ab: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = run("split", "ab", "web-svc", "--clear")
	if code != cli.ExitOK || !strings.Contains(out, "rule 1 (PathPrefix /, header x-canary=true): removed (was web-v2=1)") {
		t.Errorf("ab --clear: exit %d\n%s%s", code, out, errOut)
	}

	refusedSplitsChangeNothing(t, run, ns, rv)

	// A TrafficSplit next to the HTTPRoute: auto refuses to guess (exit 1), naming both.
	code, _, errOut = run("split", "set", "web-svc", "web-v1=1", "--router", "smi", "--smi-version", "v1alpha2")
	if code != cli.ExitOK || !strings.Contains(errOut, "warning: Service "+ns+"/web-svc is also steered by gateway (HTTPRoute") {
		t.Fatalf("set through smi next to HTTPRoutes: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run("split", "get", "web-svc")
	if code != cli.ExitError || !strings.Contains(errOut, "steered by gateway and smi at once") {
		t.Errorf("both steering: exit %d, stderr %q", code, errOut)
	}
	code, out, _ = run("split", "get", "web-svc", "--router", "smi", "-o", "yaml")
	if code != cli.ExitOK || !strings.Contains(out, "router: smi") || !strings.Contains(out, "service: web-v1") {
		t.Errorf("get --router smi -o yaml: exit %d\n%s", code, out)
	}
}

// refusedSplitsChangeNothing runs every bad split command: each exits 2 with one error line and
// leaves the route's resourceVersion (rv) unchanged.
func refusedSplitsChangeNothing(t *testing.T, run func(args ...string) (int, string, string), ns string, rv func() string) {
	t.Helper()
	bad := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown apex", []string{"split", "set", "nope", "web-v1=1"}, cli.ExitUsage, "apex Service " + ns + "/nope not found"},
		{"unknown backend", []string{"split", "set", "web-svc", "web-v9=1"}, cli.ExitUsage, "backend Service " + ns + "/web-v9 not found"},
		{"port mismatch", []string{"split", "set", "web-svc", "web-v1=1", "web-v3=1"}, cli.ExitUsage, "does not expose port 8080/TCP"},
		{"not a number", []string{"split", "set", "web-svc", "web-v1=90", "web-v2=abc"}, cli.ExitUsage, `weight "abc" of web-v2 is not a whole number`},
		{"all zero", []string{"split", "set", "web-svc", "web-v1=0", "web-v2=0"}, cli.ExitUsage, "all weights are 0"},
		{"unsupported smi version", []string{"split", "set", "web-svc", "web-v1=1", "--router", "smi", "--smi-version", "v1alpha4"}, cli.ExitUsage, "TrafficSplit v1alpha4 has no Linkerd support"},
		{"unknown router", []string{"split", "set", "web-svc", "web-v1=1", "--router", "istio"}, cli.ExitUsage, `unknown router "istio"`},
		{"bad dry run", []string{"split", "set", "web-svc", "web-v1=1", "--dry-run=maybe"}, cli.ExitUsage, "invalid --dry-run"},
		{"ab through smi", []string{"split", "ab", "web-svc", "--header", "x=1", "--to", "web-v2", "--router", "smi"}, cli.ExitUsage, "a TrafficSplit cannot match headers"},
		{"ab without header", []string{"split", "ab", "web-svc", "--to", "web-v2"}, cli.ExitUsage, "pass --header NAME=VALUE and --to SERVICE, or --clear"},
		{"ab clear with header", []string{"split", "ab", "web-svc", "--clear", "--header", "x=1"}, cli.ExitUsage, "--clear takes no --header"},
		{"ab bad header", []string{"split", "ab", "web-svc", "--header", "x-canary", "--to", "web-v2"}, cli.ExitUsage, "not NAME=VALUE"},
		{"no backends", []string{"split", "set", "web-svc"}, cli.ExitUsage, "requires at least 2 arg(s)"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := rv()
			code, out, errOut := run(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) || out != "" {
				t.Errorf("exit %d (want %d)\nstdout %q\nstderr %q (want %q)", code, tt.code, out, errOut, tt.want)
			}
			if first := strings.SplitN(errOut, "\n", 2)[0]; !strings.HasPrefix(first, "error: ") {
				t.Errorf("first stderr line %q is not one error line", first)
			}
			if rv() != before {
				t.Errorf("refused command changed the route")
			}
		})
	}

}

// TestSplitPerRouteHTTPRoutes runs set on routes shaped like `trafficctl profile --emit
// httproute` output (per-route rules, no backendRefs, parentRef group core).
func TestSplitPerRouteHTTPRoutes(t *testing.T) {
	env := testenv.Require(t)
	ns := splitNamespace(t, env)
	c := env.Clients(t, ns)
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "policy.linkerd.io/v1beta3", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "web-svc-routes", "namespace": ns, "annotations": map[string]any{"retry.linkerd.io/http": "5xx"}},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"group": "core", "kind": "Service", "name": "web-svc", "port": int64(8080)}},
			"rules": []any{
				map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "Exact", "value": "/api/list"}, "method": "GET"}}},
				map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "Exact", "value": "/api/vote"}}}, "timeouts": map[string]any{"request": "2s"}},
				map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}}},
			},
		},
	}}
	res := c.Dynamic.Resource(schema.GroupVersionResource{Group: "policy.linkerd.io", Version: "v1beta3", Resource: "httproutes"}).Namespace(ns)
	if _, err := res.Create(context.Background(), route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "split", "set", "web-svc", "web-v1=75", "web-v2=25", "--kubeconfig", env.Kubeconfig, "-n", ns)
	if code != cli.ExitOK || strings.Count(out, "web-svc-routes rule") != 3 || strings.Contains(out, "created") {
		t.Fatalf("set: exit %d\n%s%s", code, out, errOut)
	}
	got, err := res.Get(context.Background(), "web-svc-routes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules, _, _ := unstructured.NestedSlice(got.Object, "spec", "rules")
	for i, r := range rules {
		refs := fmt.Sprint(r.(map[string]any)["backendRefs"])
		if !strings.Contains(refs, "name:web-v1 port:8080 weight:75]") || !strings.Contains(refs, "name:web-v2 port:8080 weight:25]") {
			t.Errorf("rule %d backendRefs = %s", i, refs)
		}
	}
	if got.GetAnnotations()["retry.linkerd.io/http"] != "5xx" || !strings.Contains(fmt.Sprint(rules[1]), "request:2s") {
		t.Errorf("other fields not kept: %v %v", got.GetAnnotations(), rules[1])
	}
}

// TestSplitNoCRDs points the CLI at an API server that serves none of the split APIs.
func TestSplitNoCRDs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/apis" {
			fmt.Fprint(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: bare, cluster: {server: %q}}]
contexts: [{name: bare, context: {cluster: bare, user: u}}]
users: [{name: u, user: {}}]
current-context: bare
`, srv.URL)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		router string
		want   string
	}{
		{"auto", "no traffic-split API is served: install the Gateway API CRDs"},
		{"smi", "install the linkerd-smi extension"},
		{"gateway", "install the Gateway API CRDs"},
		{"linkerd", "install Linkerd's CRDs"},
	} {
		t.Run(tt.router, func(t *testing.T) {
			code, _, errOut := runCLI(t, "split", "set", "web-svc", "web-v1=1", "--router", tt.router, "--kubeconfig", kubeconfig, "-n", "web")
			if code != cli.ExitError || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q, want one line with %q", code, errOut, tt.want)
			}
		})
	}
}
