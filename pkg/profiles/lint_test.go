package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLintGolden(t *testing.T) {
	var l Linter
	for _, file := range []string{"testdata/lint/profile.yaml", "testdata/lint/routes.yaml"} {
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
	checkGolden(t, "lint.txt", []byte(b.String()))
}

// TestLintGenerated: what trafficctl generates passes lint, except the overlaps the generator
// itself reported for the adversarial spec.
func TestLintGenerated(t *testing.T) {
	for _, file := range corpusSpecs(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			plan, err := NewPlan(loadCorpus(t, file, nil), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			var l Linter
			sp, err := yamlOf(plan.ServiceProfile())
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Add("sp.yaml", sp); err != nil {
				t.Fatal(err)
			}
			var l2 Linter
			if err := l2.Add("routes.yaml", renderRoutes(t, plan.RouteObjects())); err != nil {
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
	plan, err := NewPlan(loadCorpus(t, "testdata/specs/emojivoto-web.yaml", nil), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := yamlOf(plan.ServiceProfile())
	var l Linter
	_ = l.Add("sp.yaml", sp)
	_ = l.Add("routes.yaml", renderRoutes(t, plan.RouteObjects()))
	findings := l.Lint()
	if len(findings) != 1 || !strings.Contains(findings[0].Message, "Linkerd uses the profile") {
		t.Errorf("findings %v, want one about the profile overriding the routes", findings)
	}
}

func TestLintNotYAML(t *testing.T) {
	var l Linter
	if err := l.Add("x.yaml", []byte("a: [")); err == nil || !IsInputError(err) {
		t.Errorf("got %v", err)
	}
}
