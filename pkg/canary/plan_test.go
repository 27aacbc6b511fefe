package canary

import (
	"bytes"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
)

func TestPlanGolden(t *testing.T) {
	c, err := ParseFile("testdata/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := MakePlan(c, DefaultPlanOptions)
	if p.Outcomes[SimRolledBack] != DefaultPlanOptions.Runs {
		t.Errorf("fully broken canary: outcomes %v", p.Outcomes)
	}
	if p.WorstRollbackBroken > 2*c.Spec.ScrapeInterval || p.WorstRollbackBroken < c.Spec.Interval {
		t.Errorf("worst rollback %s", p.WorstRollbackBroken)
	}
	if p.ShortestPromote < 4*c.Spec.Interval || p.RollbackUndecided != 15*time.Minute {
		t.Errorf("plan %+v", p)
	}
	var buf bytes.Buffer
	if err := p.Print(&buf); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/plan.golden", buf.Bytes())
}

// TestOneStepSpecs: a spec with a single step (the whole traffic at once) is valid; plan and
// bench simulate it to promotion instead of panicking on the step after the last.
func TestOneStepSpecs(t *testing.T) {
	for _, tc := range []struct{ name, extra string }{
		{"steps [100]", "  steps: [100]\n"},
		{"stepWeight 100", "  stepWeight: 100\n"},
		{"steps [100] gated", "  steps: [100]\n  gates: [100]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := specWith(t, tc.extra)
			p := MakePlan(c, PlanOptions{RPS: 50, Runs: 3})
			if len(p.Steps) != 1 || p.Steps[0].Weight != 100 || p.ShortestPromote <= 0 {
				t.Fatalf("plan %+v", p)
			}
			if rows := Compare(c); len(rows) == 0 {
				t.Fatal("no bench rows")
			}
		})
	}
}
