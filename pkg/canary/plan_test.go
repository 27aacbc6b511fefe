package canary

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

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
	golden := "testdata/plan.golden"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("plan output differs from %s (run with -update):\n%s", golden, buf.String())
	}
}
