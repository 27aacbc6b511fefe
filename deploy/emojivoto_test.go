package deploy_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/verify"
)

// kustomizations finds every directory under root holding a kustomization.yaml, so a new
// overlay is tested without anyone remembering to list it.
func kustomizations(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("find kustomizations under %s: %v", root, err)
	}
	if len(dirs) == 0 {
		t.Fatalf("no kustomization.yaml under %s", root)
	}
	return dirs
}

func testName(dir string) string { return strings.ReplaceAll(filepath.ToSlash(dir), "/", "-") }

// TestEmojivotoBuild builds every kustomization and compares the list of objects with its golden
// file, so a review sees exactly which objects an overlay adds.
func TestEmojivotoBuild(t *testing.T) {
	for _, dir := range kustomizations(t, "emojivoto") {
		t.Run(testName(dir), func(t *testing.T) {
			var got strings.Builder
			for _, o := range kustomizeBuild(t, dir) {
				fmt.Fprintf(&got, "%s %s %s/%s\n", o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName())
			}
			golden.Assert(t, filepath.Join("testdata", testName(dir)+".golden"), []byte(got.String()))
		})
	}
}

// TestEmojivotoDryRun server-side dry-run applies every build to the real API server, with the
// upstream Linkerd, Gateway API and SMI CRDs and strict field validation.
func TestEmojivotoDryRun(t *testing.T) {
	env := testenv.Require(t)
	for _, dir := range kustomizations(t, "emojivoto") {
		t.Run(testName(dir), func(t *testing.T) {
			dryRunApply(t, env, kustomizeBuild(t, dir))
		})
	}
}

// TestDryRunRejects proves the dry-run check has teeth: the same path that accepts the
// manifests refuses an unknown field, a wrong type and a value the CRD schema forbids.
func TestDryRunRejects(t *testing.T) {
	env := testenv.Require(t)
	base := kustomizeBuild(t, "emojivoto/base")
	find := func(kind, name string) *unstructured.Unstructured {
		for _, o := range base {
			if o.GetKind() == kind && o.GetName() == name {
				return o.DeepCopy()
			}
		}
		t.Fatalf("%s/%s not in the base", kind, name)
		return nil
	}
	for _, tc := range []struct {
		name   string
		obj    *unstructured.Unstructured
		mutate func(o *unstructured.Unstructured)
	}{
		{"unknown field in a Server", find("Server", "web-http"), func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "HTTP/1", "spec", "protocol")
		}},
		{"wrong type in a Deployment", find("Deployment", "web-v1"), func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "two", "spec", "replicas")
		}},
		{"enum violation in an HTTPRoute", find("HTTPRoute", "web-ingress"), func(o *unstructured.Unstructured) {
			rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
			rules[0].(map[string]any)["matches"] = []any{map[string]any{"path": map[string]any{"type": "Glob", "value": "/*"}}}
			_ = unstructured.SetNestedSlice(o.Object, rules, "spec", "rules")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.mutate(tc.obj)
			if errs := dryRunErrors(t, env, "", []*unstructured.Unstructured{tc.obj}); len(errs) != 1 {
				t.Errorf("errors = %v, want exactly one refusal", errs)
			} else {
				t.Logf("refused as expected: %v", errs[0])
			}
		})
	}
}

// TestEmojivotoPolicy checks the security promises of every build: the namespace is meshed with
// default-deny, every Service port is covered by an authorized Server, routes keep a catch-all,
// nothing runs as root, every image is pinned, every serving container is probed and bounded.
func TestEmojivotoPolicy(t *testing.T) {
	for _, dir := range kustomizations(t, "emojivoto") {
		t.Run(testName(dir), func(t *testing.T) {
			objs := kustomizeBuild(t, dir)
			inv, err := verify.NewInventory("emojivoto", objs)
			if err != nil {
				t.Fatal(err)
			}
			findings, err := verify.PortCoverage(inv)
			if err != nil {
				t.Fatal(err)
			}
			findings = append(findings, verify.CatchAll(inv)...)
			findings = append(findings, verify.ProfileOverrides(inv)...)
			for _, f := range findings {
				t.Errorf("%s", f)
			}
			for _, w := range inv.Workloads {
				for _, problem := range workloadProblems(w) {
					t.Errorf("%s: %s", w, problem)
				}
			}
			for _, o := range objs {
				if o.GetKind() == "Deployment" {
					// Decoded YAML numbers are float64.
					if r, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); r == nil || r.(float64) < 2 {
						t.Errorf("Deployment/%s: %v replicas, want at least 2", o.GetName(), r)
					}
				}
				if o.GetKind() == "Namespace" {
					a := o.GetAnnotations()
					if a["linkerd.io/inject"] != "enabled" || a["config.linkerd.io/default-inbound-policy"] != "deny" {
						t.Errorf("Namespace/%s: annotations %v, want linkerd.io/inject=enabled and default-inbound-policy=deny", o.GetName(), a)
					}
				}
			}
		})
	}
}

// workloadProblems lists what breaks the rules for one pod template.
func workloadProblems(w verify.Workload) []string {
	var out []string
	if w.Annotations["linkerd.io/inject"] == "disabled" {
		out = append(out, "opts out of the mesh")
	}
	psc := w.Spec.SecurityContext
	podNonRoot := psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		out = append(out, "pod runs as UID 0")
	}
	for _, c := range slices.Concat(w.Spec.InitContainers, w.Spec.Containers) {
		sc := c.SecurityContext
		nonRoot := podNonRoot
		if sc != nil && sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		if !nonRoot {
			out = append(out, fmt.Sprintf("container %s may run as root: set runAsNonRoot", c.Name))
		}
		if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			out = append(out, fmt.Sprintf("container %s runs as UID 0", c.Name))
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			out = append(out, fmt.Sprintf("container %s allows privilege escalation", c.Name))
		}
		if !pinned(c.Image) {
			out = append(out, fmt.Sprintf("container %s image %q is not pinned by tag or digest", c.Name, c.Image))
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			out = append(out, fmt.Sprintf("container %s lacks cpu/memory requests or a memory limit", c.Name))
		}
		if len(c.Ports) > 0 && (c.ReadinessProbe == nil || c.LivenessProbe == nil) {
			out = append(out, fmt.Sprintf("container %s serves ports but lacks a readiness or liveness probe", c.Name))
		}
	}
	return out
}

// pinned says whether an image names a digest, or a tag other than "latest".
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	name := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(name, ":")
	return i >= 0 && name[i+1:] != "" && name[i+1:] != "latest"
}

func TestPinned(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  bool
	}{
		{"ghcr.io/buoyantio/emojivoto-web:v11", true},
		{"ghcr.io/buoyantio/emojivoto-web", false},
		{"ghcr.io/buoyantio/emojivoto-web:latest", false},
		{"localhost:5000/web", false},
		{"localhost:5000/web:v1", true},
		{"web@sha256:0123", true},
	} {
		t.Run(tc.image, func(t *testing.T) {
			if got := pinned(tc.image); got != tc.want {
				t.Errorf("pinned(%q) = %v, want %v", tc.image, got, tc.want)
			}
		})
	}
}

// TestEmojivotoCallers pins down who may call whom in the base: only web reaches emoji and
// voting, the ingress, vote-bot and the load test reach web, Prometheus reaches metrics.
func TestEmojivotoCallers(t *testing.T) {
	objs := kustomizeBuild(t, "emojivoto/base")
	byKind := func(kind, name string) *unstructured.Unstructured {
		for _, o := range objs {
			if o.GetKind() == kind && o.GetName() == name {
				return o
			}
		}
		t.Fatalf("%s/%s not in the base", kind, name)
		return nil
	}
	callers := map[string][]string{}
	for _, o := range objs {
		if o.GetKind() != "AuthorizationPolicy" {
			continue
		}
		server, _, _ := unstructured.NestedString(o.Object, "spec", "targetRef", "name")
		refs, _, _ := unstructured.NestedSlice(o.Object, "spec", "requiredAuthenticationRefs")
		for _, r := range refs {
			authn := byKind("MeshTLSAuthentication", r.(map[string]any)["name"].(string))
			ids, _, _ := unstructured.NestedSlice(authn.Object, "spec", "identityRefs")
			for _, id := range ids {
				m := id.(map[string]any)
				ns, _ := m["namespace"].(string)
				if ns == "" {
					ns = "emojivoto"
				}
				callers[server] = append(callers[server], ns+"/"+m["name"].(string))
			}
		}
	}
	want := map[string][]string{
		"web-http":      {"emojivoto/vote-bot", "emojivoto/loadtest", "traefik/traefik"},
		"emoji-grpc":    {"emojivoto/web"},
		"voting-grpc":   {"emojivoto/web"},
		"emoji-prom":    {"linkerd-viz/prometheus"},
		"voting-prom":   {"linkerd-viz/prometheus"},
		"linkerd-admin": {"linkerd-viz/prometheus"},
	}
	for server, ids := range want {
		if !slices.Equal(callers[server], ids) {
			t.Errorf("Server %s callers = %v, want %v", server, callers[server], ids)
		}
	}
	if len(callers) != len(want) {
		t.Errorf("authorized Servers = %v, want exactly %v", callers, want)
	}
	var v2 []corev1.EnvVar
	inv, err := verify.NewInventory("emojivoto", objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range inv.Workloads {
		if w.Name == "voting-v2" {
			v2 = w.Spec.Containers[0].Env
		}
	}
	if !slices.ContainsFunc(v2, func(e corev1.EnvVar) bool { return e.Name == "FAILURE_RATE" && e.Value != "" }) {
		t.Errorf("voting-v2 env %v lacks FAILURE_RATE", v2)
	}
}

// TestEmojivotoPolicyBites proves the coverage check is not vacuous on the real manifests:
// dropping emoji's gRPC Server, or its AuthorizationPolicy, is reported.
func TestEmojivotoPolicyBites(t *testing.T) {
	for _, tc := range []struct {
		drop, want string
	}{
		{drop: "Server/emoji-grpc", want: "uncovered-port: Service/emoji-svc port 8080/grpc"},
		{drop: "AuthorizationPolicy/emoji-grpc", want: "unauthorized-server: Service/emoji-svc port 8080/grpc"},
	} {
		t.Run(tc.drop, func(t *testing.T) {
			var objs []*unstructured.Unstructured
			for _, o := range kustomizeBuild(t, "emojivoto/base") {
				if o.GetKind()+"/"+o.GetName() != tc.drop {
					objs = append(objs, o)
				}
			}
			inv, err := verify.NewInventory("emojivoto", objs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := verify.PortCoverage(inv)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !strings.HasPrefix(got[0].String(), tc.want) {
				t.Errorf("findings = %v, want one starting %q", got, tc.want)
			}
		})
	}
}
