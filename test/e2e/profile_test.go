package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

const profileSpecs = "../../pkg/profiles/testdata/specs/"

func TestProfileCommand(t *testing.T) {
	spec, err := os.ReadFile(profileSpecs + "emojivoto-web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/openapi.yaml" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(spec)
	}))
	defer srv.Close()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"serviceprofile yaml", []string{"profile", "web", "-n", "emojivoto", "--openapi", profileSpecs + "emojivoto-web.yaml"}, cli.ExitOK,
			[]string{"kind: ServiceProfile", "name: web.emojivoto.svc.cluster.local", "name: GET /api/list"}, nil},
		{"linkerd's --open-api spelling", []string{"profile", "web", "-n", "emojivoto", "--open-api", profileSpecs + "emojivoto-web.yaml", "--cluster-domain", "example.org"}, cli.ExitOK,
			[]string{"name: web.emojivoto.svc.example.org"}, nil},
		{"from a URL, as JSON", []string{"profile", "web", "--openapi", srv.URL + "/openapi.yaml", "-o", "json"}, cli.ExitOK,
			[]string{`"kind": "ServiceProfile"`}, nil},
		{"httproutes", []string{"profile", "web", "-n", "emojivoto", "--openapi", profileSpecs + "emojivoto-web.yaml", "--emit", "httproute"}, cli.ExitOK,
			[]string{"kind: HTTPRoute", "---", "retry.linkerd.io/http: 5xx", "type: PathPrefix"}, nil},
		{"overlaps warned on stderr", []string{"profile", "web", "--openapi", profileSpecs + "adversarial.yaml"}, cli.ExitOK,
			[]string{"kind: ServiceProfile"}, []string{`warning: routes "GET /v1.0/a/b/{yv}" and "GET /v1.0/a/{xv}/c" overlap`}},
		{"proto", []string{"profile", "emoji-svc", "--proto", "../../pkg/profiles/testdata/proto/legacy/emoji.proto", "-I", "../../pkg/profiles/testdata/proto"}, cli.ExitOK,
			[]string{"name: /legacy.EmojiService/ListAll"}, nil},
		{"merge", []string{"profile", "web", "-n", "demo", "--openapi", profileSpecs + "emojivoto-web.yaml", "--merge", "../../pkg/profiles/merge/testdata/existing-serviceprofile.yaml"}, cli.ExitOK,
			[]string{"name: vote-for-doughnut", "authority: web-v2.demo.svc.cluster.local:8080"}, []string{`merge: kept hand-written route "vote-for-doughnut"`}},
		{"merge httproutes", []string{"profile", "web", "-n", "demo", "--openapi", profileSpecs + "emojivoto-web.yaml", "--emit", "httproute", "--merge", "../../pkg/profiles/merge/testdata/existing-httproutes.yaml"}, cli.ExitOK,
			[]string{"name: web-admin", "retry.linkerd.io/limit: \"3\"", "name: x-debug", "port: 8080"},
			[]string{"merge: conflict: HTTPRoute web-retry-timeout-2s: annotation timeout.linkerd.io/request=5s edited by hand is now 2s", "merge: removed HTTPRoute web-timeout-5s"}},
		{"merge grpcroutes", []string{"profile", "emoji-svc", "-n", "emojivoto", "--proto", "../../pkg/profiles/testdata/proto/emojivoto/v1/emoji.proto", "--proto", "../../pkg/profiles/testdata/proto/emojivoto/v1/voting.proto", "-I", "../../pkg/profiles/testdata/proto", "--timeout", "1s", "--emit", "httproute", "--merge", "../../pkg/profiles/merge/testdata/existing-grpcroutes.yaml"}, cli.ExitOK,
			[]string{"kind: GRPCRoute", "name: x-tenant"}, []string{"merge: removed match /emojivoto.v1.VotingService/VoteGone"}},
		{"merge routes into a profile file", []string{"profile", "web", "--openapi", profileSpecs + "emojivoto-web.yaml", "--emit", "httproute", "--merge", "../../pkg/profiles/merge/testdata/existing-serviceprofile.yaml"}, cli.ExitUsage,
			nil, []string{"existing-serviceprofile.yaml: no HTTPRoute or GRPCRoute"}},
		{"merge and contract from stdin", []string{"profile", "web", "--openapi", "-", "--merge", "-"}, cli.ExitUsage, nil, []string{"cannot both read stdin"}},
		{"template", []string{"profile", "web", "-n", "demo", "--template"}, cli.ExitOK, []string{"name: web.demo.svc.cluster.local", "retryBudget:"}, nil},
		{"bad service name", []string{"profile", "Web_1", "--openapi", "a.yaml"}, cli.ExitUsage, nil, []string{`invalid Service name "Web_1"`}},
		{"no source", []string{"profile", "web"}, cli.ExitUsage, nil, []string{"pass exactly one of"}},
		{"two sources", []string{"profile", "web", "--openapi", "a.yaml", "--template"}, cli.ExitUsage, nil, []string{"pass exactly one of"}},
		{"bad retries", []string{"profile", "web", "--openapi", "a.yaml", "--retries", "always"}, cli.ExitUsage, nil, []string{"--retries"}},
		{"bad budget", []string{"profile", "web", "--openapi", "a.yaml", "--retry-budget", "lots"}, cli.ExitUsage, nil, []string{"--retry-budget"}},
		{"NaN budget ratio", []string{"profile", "web", "--openapi", "a.yaml", "--retry-budget", "NaN,10,10s"}, cli.ExitUsage, nil, []string{"--retry-budget: invalid retry budget ratio \"NaN\": use a number within 0..100"}},
		{"Inf budget ratio", []string{"profile", "web", "--openapi", "a.yaml", "--retry-budget", "Inf,10,10s"}, cli.ExitUsage, nil, []string{"invalid retry budget ratio"}},
		{"negative timeout", []string{"profile", "web", "--openapi", "a.yaml", "--timeout", "-1s"}, cli.ExitUsage, nil, []string{`invalid timeout "-1s": must be within 1ns..24h0m0s`}},
		{"zero timeout", []string{"profile", "web", "--openapi", "a.yaml", "--timeout", "0s"}, cli.ExitUsage, nil, []string{`invalid timeout "0s"`}},
		{"cluster domain with a path", []string{"profile", "web", "--openapi", "a.yaml", "--cluster-domain", "x/../../y"}, cli.ExitUsage, nil, []string{`invalid cluster domain "x/../../y"`}},
		{"bad emit", []string{"profile", "web", "--openapi", "a.yaml", "--emit", "trafficsplit"}, cli.ExitUsage, nil, []string{"--emit"}},
		{"force-conflicts without apply", []string{"profile", "web", "--openapi", "a.yaml", "--force-conflicts"}, cli.ExitUsage, nil, []string{"--force-conflicts only applies with --apply"}},
		{"dry-run without apply", []string{"profile", "web", "--openapi", "a.yaml", "--dry-run", "server"}, cli.ExitUsage, nil, []string{"--dry-run only applies with --apply"}},
		{"missing file", []string{"profile", "web", "--openapi", "nope.yaml"}, cli.ExitUsage, nil, []string{"error: nope.yaml: no such file"}},
		{"unreadable URL", []string{"profile", "web", "--openapi", srv.URL + "/missing.yaml"}, cli.ExitUsage, nil, []string{"cannot read URL: server answered 404"}},
		{"not a spec", []string{"profile", "web", "--openapi", "../../pkg/profiles/testdata/bad/not-a-spec.yaml"}, cli.ExitUsage, nil, []string{"not an OpenAPI document"}},
		{"bad timeout extension", []string{"profile", "web", "--openapi", "../../pkg/profiles/testdata/bad/bad-timeout.yaml"}, cli.ExitUsage, nil, []string{"paths./pets.x-linkerd-timeout"}},
		{"lint clean", []string{"lint", "../../pkg/profiles/testdata/golden/emojivoto-web.httproute.yaml"}, cli.ExitOK, nil, nil},
		{"lint findings", []string{"lint", "../../pkg/profiles/lint/testdata/routes.yaml"}, cli.ExitCheckFailed,
			[]string{"../../pkg/profiles/lint/testdata/routes.yaml: HTTPRoute library/books: rules[0].matches[2]: path regex"}, []string{"error: 11 finding(s) in 3 object(s)"}},
		{"lint missing file", []string{"lint", "nope.yaml"}, cli.ExitUsage, nil, []string{"error: nope.yaml: no such file"}},
		{"lint not yaml", []string{"lint", "../../pkg/profiles/lint/testdata/broken.yaml"}, cli.ExitUsage, nil, []string{"not YAML or JSON"}},
		{"lint no args", []string{"lint"}, cli.ExitUsage, nil, nil},
		{"bad proto", []string{"profile", "web", "--proto", "../../pkg/profiles/testdata/proto/bad/syntax.proto"}, cli.ExitUsage, nil, []string{"syntax.proto: line 5, column 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.wantCode, stderr)
			}
			if code != cli.ExitOK && code != cli.ExitCheckFailed && stdout != "" {
				t.Errorf("failed with output on stdout: %q", stdout)
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestProfileApply: --apply server-side applies to a real API server; --dry-run=server
// validates without persisting.
func TestProfileApply(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t)
	base := []string{"--kubeconfig", env.Kubeconfig, "-n", ns, "profile", "web", "--openapi", profileSpecs + "emojivoto-web.yaml", "--apply"}
	code, stdout, stderr := runCLI(t, append(base, "--dry-run", "server")...)
	if code != cli.ExitOK || stdout != "serviceprofile.linkerd.io/web."+ns+".svc.cluster.local serverside-applied (server dry run)\n" {
		t.Fatalf("dry run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	sps := schema.GroupVersionResource{Group: "linkerd.io", Version: "v1alpha2", Resource: "serviceprofiles"}
	dyn := env.Clients(t, ns).Dynamic
	if _, err := dyn.Resource(sps).Namespace(ns).Get(context.Background(), "web."+ns+".svc.cluster.local", metav1.GetOptions{}); err == nil {
		t.Fatal("the server dry run persisted the profile")
	}
	code, stdout, stderr = runCLI(t, append(base, "--emit", "httproute")...)
	if code != cli.ExitOK || strings.Count(stdout, "httproute.gateway.networking.k8s.io/") != 3 {
		t.Fatalf("apply httproutes: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, base...)
	if code != cli.ExitOK {
		t.Fatalf("apply: exit %d: %s", code, stderr)
	}
	got, err := dyn.Resource(sps).Namespace(ns).Get(context.Background(), "web."+ns+".svc.cluster.local", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	routes, _, _ := unstructured.NestedSlice(got.Object, "spec", "routes")
	if len(routes) != 4 {
		t.Errorf("stored profile has %d routes, want 4", len(routes))
	}
}

// TestProfileStdin: `--openapi -` reads the contract from stdin, and `lint -` checks what
// profile printed, as in `trafficctl profile ... | trafficctl lint -`.
func TestProfileStdin(t *testing.T) {
	spec, err := os.ReadFile(profileSpecs + "petstore-v31.json")
	if err != nil {
		t.Fatal(err)
	}
	run := func(in string, args ...string) (int, string, string) {
		return runCLIWith(context.Background(), strings.NewReader(in), args...)
	}
	code, routes, stderr := run(string(spec), "profile", "pets", "-n", "shop", "--openapi", "-", "--emit", "httproute")
	if code != cli.ExitOK || !strings.Contains(routes, "value: ^/api/pets/[0-9]+$") {
		t.Fatalf("profile from stdin: exit %d\n%s\n%s", code, routes, stderr)
	}
	if code, out, stderr := run(routes, "lint", "-"); code != cli.ExitOK || out != "" {
		t.Errorf("lint of generated routes: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, out, _ := run("not: [a, spec", "profile", "pets", "--openapi", "-"); code != cli.ExitUsage || out != "" {
		t.Errorf("bad stdin: exit %d, stdout %q", code, out)
	}
}

// TestProfileMergeApply: `--emit httproute --merge FILE --apply --dry-run=server` has the API
// server validate the merged routes, hand-written object included.
func TestProfileMergeApply(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t)
	data, err := os.ReadFile("../../pkg/profiles/merge/testdata/existing-httproutes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/routes.yaml"
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(data), "namespace: demo", "namespace: "+ns)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "--kubeconfig", env.Kubeconfig, "-n", ns, "profile", "web", "--openapi", profileSpecs+"emojivoto-web.yaml",
		"--emit", "httproute", "--merge", file, "--apply", "--dry-run", "server")
	// The user's web-admin is printed by a merge but never applied: it is theirs.
	want := "httproute.gateway.networking.k8s.io/web serverside-applied (server dry run)\n" +
		"httproute.gateway.networking.k8s.io/web-retry-timeout-2s serverside-applied (server dry run)\n" +
		"httproute.gateway.networking.k8s.io/web-timeout-2s serverside-applied (server dry run)\n"
	if code != cli.ExitOK || stdout != want {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "merge: removed HTTPRoute web-timeout-5s") || !strings.Contains(stderr, "merge: 1 hand-written route object(s) not applied: they are yours\n") {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestProfileMergeAfterSplit: routes generated from an old contract, split 90/10 and given A/B
// header twins, then read back with `kubectl get -o yaml`, merge with a new contract and
// apply: every regenerated rule keeps the split's weights, the twins stay, and the change list
// names the route object to delete.
func TestProfileMergeAfterSplit(t *testing.T) {
	env := testenv.Require(t)
	run, ns := clusterCLI(t, env)
	dir := t.TempDir()
	old := dir + "/old.yaml"
	if err := os.WriteFile(old, []byte("openapi: 3.0.3\ninfo: {title: web, version: \"1\"}\nx-linkerd-timeout: 5s\npaths:\n  /api/list: {get: {responses: {\"200\": {description: ok}}}}\n  /api/old: {get: {responses: {\"200\": {description: ok}}}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"profile", "web-svc", "--openapi", old, "--emit", "httproute", "--apply"},
		{"split", "set", "web-svc", "web-v1=90", "web-v2=10", "--router", "gateway"},
		{"split", "ab", "web-svc", "--header", "x-canary=true", "--to", "web-v2", "--router", "gateway"},
	} {
		if code, out, errOut := run(args...); code != cli.ExitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	routes := env.Clients(t, ns).Dynamic.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace(ns)
	list, err := routes.List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list.SetAPIVersion("v1")
	list.SetKind("List")
	data, err := list.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	current := dir + "/current.json"
	if err := os.WriteFile(current, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The split command wrote the rules: without --force-conflicts the apply stops, with it the
	// merge (which kept the split's weights) takes them over.
	code, out, errOut := run("profile", "web-svc", "--openapi", profileSpecs+"emojivoto-web.yaml", "--emit", "httproute", "--merge", current, "--apply")
	if code == cli.ExitOK || !strings.Contains(errOut, "--force-conflicts") {
		t.Errorf("apply over the split's fields: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run("profile", "web-svc", "--openapi", profileSpecs+"emojivoto-web.yaml", "--emit", "httproute", "--merge", current, "--apply", "--force-conflicts")
	if code != cli.ExitOK {
		t.Fatalf("merge: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"merge: kept the backendRefs of the rules of HTTPRoute web-svc\n",
		"merge: gave the rules of HTTPRoute web-svc-timeout-2s the backendRefs all your generated HTTPRoute rules have",
		"merge: kept 1 hand-written rule(s) of HTTPRoute web-svc\n",
		"merge: kept HTTPRoute web-svc-timeout-5s for its 1 hand-written rule(s)",
		`merge: removed match GET ^/api/old$ from HTTPRoute web-svc-timeout-5s`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, errOut)
		}
	}
	for _, name := range []string{"web-svc", "web-svc-retry-timeout-2s", "web-svc-timeout-2s"} {
		got, err := routes.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rules, _, _ := unstructured.NestedSlice(got.Object, "spec", "rules")
		for i, r := range rules {
			refs := fmt.Sprint(r.(map[string]any)["backendRefs"])
			if strings.Contains(fmt.Sprint(r), "x-canary") {
				continue // an A/B twin, sending to web-v2
			}
			if !strings.Contains(refs, "name:web-v1 port:8080 weight:90]") || !strings.Contains(refs, "name:web-v2 port:8080 weight:10]") {
				t.Errorf("%s rule %d: backendRefs %s, want the split's 90/10", name, i, refs)
			}
		}
	}
	if code, out, errOut := run("split", "get", "web-svc", "--router", "gateway", "-o", "json"); code != cli.ExitOK || !strings.Contains(out, `"weight": 90`) || !strings.Contains(out, `"weight": 10`) {
		t.Errorf("split get after the merge: exit %d\n%s%s", code, out, errOut)
	}
	stale, err := routes.Get(context.Background(), "web-svc-timeout-5s", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rules, _, _ := unstructured.NestedSlice(stale.Object, "spec", "rules"); len(rules) != 1 || !strings.Contains(fmt.Sprint(rules), "x-canary") {
		t.Errorf("the A/B twins of the old routes: %v", rules)
	}
}
