package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// shopProfile has overlapping routes, so their order matters.
const shopProfile = `apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata: {name: api.NS.svc.cluster.local, namespace: NS}
spec:
  routes:
  - {name: list, condition: {pathRegex: /api/list}, timeout: 1s}
  - {name: api, condition: {method: GET, pathRegex: /api/.*}, isRetryable: true, timeout: 2s}
`

// webSplit is a TrafficSplit in the middle of a rollout.
const webSplit = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: web-svc, namespace: NS}
spec:
  service: web-svc
  backends:
  - {service: web-v1, weight: 90}
  - {service: web-v2, weight: 10}
`

// migrateFixture puts emojivoto's ServiceProfiles, a mid-rollout TrafficSplit, an overlapping
// profile and the Services they name into a fresh namespace.
func migrateFixture(ctx context.Context, t *testing.T, env *testenv.Env) (string, *kube.Clients) {
	t.Helper()
	ns := env.Namespace(t)
	c := env.Clients(t, ns)
	for _, svc := range []string{"web-svc", "web-v1", "web-v2", "emoji-svc", "voting-svc", "api"} {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: ns},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}}
		if _, err := c.Kube.CoreV1().Services(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var docs []string
	for _, f := range []string{"web-svc.yaml", "emoji-svc.yaml", "voting-svc.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "emojivoto", "profiles", f))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, strings.NewReplacer("namespace: emojivoto", "namespace: "+ns, ".emojivoto.svc", "."+ns+".svc").Replace(string(b)))
	}
	docs = append(docs, strings.ReplaceAll(shopProfile, "NS", ns), strings.ReplaceAll(webSplit, "NS", ns))
	for _, d := range docs {
		applyYAML(ctx, t, c, d)
	}
	return ns, c
}

func applyYAML(ctx context.Context, t *testing.T, c *kube.Clients, doc string) {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, u, kube.ApplyOptions{DryRun: kube.DryRunNone}); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateEmojivoto migrates emojivoto's ServiceProfiles and a TrafficSplit mid-rollout on
// the real API server with the upstream CRDs: the proof says equivalent, planted differences
// (a lost timeout, a widened regex, a reordered route) are found, and --apply replaces the old
// objects in the safe order.
func TestMigrateEmojivoto(t *testing.T) {
	env := testenv.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns, c := migrateFixture(ctx, t, env)
	kc := []string{"--kubeconfig", env.Kubeconfig, "-n", ns}
	dir := t.TempDir()

	code, out, errOut := runCLI(t, append([]string{"migrate"}, kc...)...)
	if code != cli.ExitOK || strings.Count(errOut, "proof: equivalent (proved by automata") != 4 ||
		!strings.Contains(out, "kind: GRPCRoute") || !strings.Contains(errOut, "weights web-v1=90 web-v2=10 move to backendRefs on every rule") {
		t.Fatalf("migrate: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	t.Logf("trafficctl migrate -n %s (stderr):\n%s", ns, errOut)
	good := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(good, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("planted differences", func(t *testing.T) { plantedDifferences(ctx, t, c, ns, kc, out, good) })
	t.Run("apply", func(t *testing.T) { migrateApply(ctx, t, c, ns, kc, dir) })
}

func plantedDifferences(ctx context.Context, t *testing.T, c *kube.Clients, ns string, kc []string, routes, good string) {
	dir := filepath.Dir(good)
	plants := []struct {
		name, service, from, to, want string
	}{
		{"lost timeout", "web-svc", "    timeout.linkerd.io/request: 2s\n", "", `difference: GET /api/vote: before route "GET /api/vote" (timeout=2s`},
		{"widened regex", "web-svc", "value: /api/list", "value: /api/.*", "difference: GET /api/: before no route"},
	}
	for _, p := range plants {
		bad := filepath.Join(dir, strings.ReplaceAll(p.name, " ", "-")+".yaml")
		if !strings.Contains(routes, p.from) {
			t.Fatalf("%s: routes lack %q", p.name, p.from)
		}
		// web-svc's routes come last (the api Service has the same timeout and path).
		i := strings.LastIndex(routes, p.from)
		if err := os.WriteFile(bad, []byte(routes[:i]+p.to+routes[i+len(p.from):]), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, append([]string{"migrate", "--service", p.service, "--against", bad}, kc...)...)
		if code != cli.ExitCheckFailed || !strings.Contains(errOut, p.want) {
			t.Errorf("%s: exit %d (want 3), stderr lacks %q:\n%s", p.name, code, p.want, errOut)
		}
	}
	// The profile's routes reordered: the routes generated from the old order now differ.
	reordered := strings.ReplaceAll(shopProfile, "NS", ns)
	list := "  - {name: list, condition: {pathRegex: /api/list}, timeout: 1s}\n"
	reordered = strings.Replace(reordered, list, "", 1) + list
	applyYAML(ctx, t, c, reordered)
	code, _, errOut := runCLI(t, append([]string{"migrate", "--service", "api", "--against", good}, kc...)...)
	if code != cli.ExitCheckFailed || !strings.Contains(errOut, `difference: GET /api/list: before route "api"`) {
		t.Errorf("reordered route: exit %d (want 3), stderr:\n%s", code, errOut)
	}
	applyYAML(ctx, t, c, strings.ReplaceAll(shopProfile, "NS", ns))
}

func migrateApply(ctx context.Context, t *testing.T, c *kube.Clients, ns string, kc []string, dir string) {
	sp := schema.GroupVersionResource{Group: "linkerd.io", Version: "v1alpha2", Resource: "serviceprofiles"}
	ts := schema.GroupVersionResource{Group: "split.smi-spec.io", Version: "v1alpha2", Resource: "trafficsplits"}
	for _, emit := range []string{"gateway", "linkerd"} {
		code, _, errOut := runCLI(t, append([]string{"migrate", "--apply", "--dry-run=server", "--emit", emit}, kc...)...)
		if code != cli.ExitOK || !strings.Contains(errOut, "applied (dry run: server)") {
			t.Fatalf("--dry-run=server --emit %s: exit %d\n%s", emit, code, errOut)
		}
	}
	if _, err := c.Dynamic.Resource(sp).Namespace(ns).Get(ctx, "web-svc."+ns+".svc.cluster.local", metav1.GetOptions{}); err != nil {
		t.Fatalf("a server dry run deleted the profile: %v", err)
	}
	backup := filepath.Join(dir, "backup.yaml")
	code, _, errOut := runCLI(t, append([]string{"migrate", "--apply", "--backup", backup}, kc...)...)
	if code != cli.ExitOK || !strings.Contains(errOut, "undo: kubectl apply --server-side --field-manager=trafficctl -f "+backup) {
		t.Fatalf("--apply: exit %d\n%s", code, errOut)
	}
	t.Logf("trafficctl migrate --apply (stderr):\n%s", errOut)
	hr := schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	got, err := c.Dynamic.Resource(hr).Namespace(ns).Get(ctx, "web-svc-default", metav1.GetOptions{})
	if err != nil || got.GetManagedFields()[0].Manager != kube.FieldManager {
		t.Fatalf("applied route: %v", err)
	}
	if _, err := c.Dynamic.Resource(sp).Namespace(ns).Get(ctx, "web-svc."+ns+".svc.cluster.local", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("profile still there after --apply: %v", err)
	}
	if _, err := c.Dynamic.Resource(ts).Namespace(ns).Get(ctx, "web-svc", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("TrafficSplit still there after --apply: %v", err)
	}
	b, err := os.ReadFile(backup)
	if err != nil || strings.Count(string(b), "kind: ServiceProfile") != 4 || !strings.Contains(string(b), "kind: TrafficSplit") {
		t.Errorf("backup: %v\n%s", err, b)
	}
}
