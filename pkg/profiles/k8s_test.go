package profiles

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kubernetesSpec finds the Kubernetes API's OpenAPI v2 document in the module cache (it is
// there once scripts/bench-profile.sh ran); the test skips rather than download 50 MB.
func kubernetesSpec(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v", err)
	}
	file := filepath.Join(strings.TrimSpace(string(out)), "k8s.io", "kubernetes@v1.34.4", "api", "openapi-spec", "swagger.json")
	if _, err := os.Stat(file); err != nil {
		t.Skipf("the Kubernetes spec is not in the module cache (go mod download k8s.io/kubernetes@v1.34.4 puts it there): %v", err)
	}
	return file
}

// TestKubernetesSpec runs the first-match and HTTPRoute precedence properties over the
// Kubernetes API: ~530 paths, ~1,060 operations, heavily nested parameters.
func TestKubernetesSpec(t *testing.T) {
	if testing.Short() {
		t.Skip("large spec: skipped under -short")
	}
	file := kubernetesSpec(t)
	plan, err := NewPlan(loadCorpus(t, file, nil), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Routes) < 1000 {
		t.Fatalf("%d routes, want the ~1,060 operations", len(plan.Routes))
	}
	if len(plan.Overlaps) != 0 {
		t.Errorf("overlaps reported on the Kubernetes API: %v", plan.Overlaps)
	}
	sp := plan.ServiceProfile()
	ro := plan.RouteObjects()
	if len(ro.Ties) != 0 || len(ro.Skipped) != 0 {
		t.Errorf("ties %v, skipped %v", ro.Ties, ro.Skipped)
	}
	rng := rand.New(rand.NewPCG(1, 3))
	for i := range plan.Routes {
		r := &plan.Routes[i]
		path := samplePath(t, &r.Operation, rng)
		if got := firstMatch(t, sp, r.Method, path); got != r.Name {
			t.Errorf("ServiceProfile: %s %s goes to %q, want %q", r.Method, path, got, r.Name)
		}
		if got := linkerdPick(t, ro, r.Method, path); len(got) != 1 || got[0] != r.Name {
			t.Errorf("HTTPRoute: %s %s goes to %q, want only %q", r.Method, path, got, r.Name)
		}
	}
}
