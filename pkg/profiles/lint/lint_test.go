package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/profiles/internal/profilestest"
)

// routesYAML is the generated routes as one List, a form Linter.Add reads.
func routesYAML(t *testing.T, ro *profiles.RouteObjects) []byte {
	t.Helper()
	var items []any
	for _, r := range ro.HTTP {
		items = append(items, r)
	}
	for _, r := range ro.GRPC {
		items = append(items, r)
	}
	data, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLintGolden(t *testing.T) {
	var l Linter
	for _, file := range []string{"testdata/profile.yaml", "testdata/routes.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Add(file, data); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	for _, f := range l.Lint() {
		b.WriteString(f.String() + "\n")
	}
	golden.Assert(t, "testdata/golden/lint.txt", []byte(b.String()))
}

// TestLintGenerated: what trafficctl generates passes lint, except the overlaps the generator
// itself reported for the adversarial spec.
func TestLintGenerated(t *testing.T) {
	for _, file := range profilestest.Specs(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			plan := profilestest.OpenAPIPlan(t, file, profilestest.Options())
			var l Linter
			sp, err := yaml.Marshal(plan.ServiceProfile())
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Add("sp.yaml", sp); err != nil {
				t.Fatal(err)
			}
			var l2 Linter
			if err := l2.Add("routes.yaml", routesYAML(t, plan.RouteObjects())); err != nil {
				t.Fatal(err)
			}
			findings := append(l.Lint(), l2.Lint()...)
			if strings.Contains(file, "adversarial") {
				if len(findings) == 0 {
					t.Error("lint found nothing in the adversarial spec's output")
				}
				return
			}
			for _, f := range findings {
				t.Error(f)
			}
		})
	}
}

func TestLintSameService(t *testing.T) {
	plan := profilestest.OpenAPIPlan(t, profilestest.Spec("emojivoto-web.yaml"), profilestest.Options())
	sp, _ := yaml.Marshal(plan.ServiceProfile())
	var l Linter
	_ = l.Add("sp.yaml", sp)
	_ = l.Add("routes.yaml", routesYAML(t, plan.RouteObjects()))
	findings := l.Lint()
	if len(findings) != 1 || !strings.Contains(findings[0].Message, "Linkerd uses the profile") {
		t.Errorf("findings %v, want one about the profile overriding the routes", findings)
	}
}

func TestLintNotYAML(t *testing.T) {
	var l Linter
	if err := l.Add("x.yaml", []byte("a: [")); err == nil || !profiles.IsInputError(err) {
		t.Errorf("got %v", err)
	}
}
