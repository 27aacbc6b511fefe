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
