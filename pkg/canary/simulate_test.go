package canary

import (
	"bytes"
	"testing"
	"time"
)

// TestPolicyComparison is the benchmark of trafficctl's policy against a Flagger-style one on
// the same simulated traffic. Run with -v to see the table.
func TestPolicyComparison(t *testing.T) {
	rows := Compare(BenchSpec())
	var buf bytes.Buffer
	if err := PrintComparison(&buf, rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
	get := func(c, p string) CaseSummary {
		for _, r := range rows {
			if r.Case == c && r.Policy == p {
				return r
			}
		}
		t.Fatalf("no row %s/%s", c, p)
		return CaseSummary{}
	}
	cases := BenchCases()
	broken, partial, healthy, lowTraffic := cases[0].Name, cases[1].Name, cases[2].Name, cases[3].Name

	ours, theirs := get(broken, "trafficctl"), get(broken, "flagger-style")
	if ours.RolledBack != ours.Runs || theirs.RolledBack != theirs.Runs {
		t.Errorf("broken canary not always rolled back: %+v / %+v", ours, theirs)
	}
	if ours.MeanLeaked*10 > theirs.MeanLeaked {
		t.Errorf("fully broken: leaked %.1f vs %.1f, want at least 10x fewer", ours.MeanLeaked, theirs.MeanLeaked)
	}
	ours, theirs = get(partial, "trafficctl"), get(partial, "flagger-style")
	if ours.RolledBack != ours.Runs || ours.MeanLeaked >= theirs.MeanLeaked {
		t.Errorf("5%% broken: %+v vs %+v, want every run rolled back with fewer leaks", ours, theirs)
	}
	ours, theirs = get(healthy, "trafficctl"), get(healthy, "flagger-style")
	if ours.Promoted != ours.Runs {
		t.Errorf("healthy at 100 rps: %d of %d promoted", ours.Promoted, ours.Runs)
	}
	if ours.MaxPromote > theirs.MeanPromote && theirs.Promoted > 0 {
		t.Errorf("healthy promoted after %s, Flagger-style after %s", ours.MaxPromote, theirs.MeanPromote)
	}
	if low := get(lowTraffic, "trafficctl"); low.RolledBack != 0 || low.Promoted != low.Runs {
		t.Errorf("healthy at 5 rps: %d false rollbacks, %d of %d promoted", low.RolledBack, low.Promoted, low.Runs)
	}
}

func TestSimulateFluidWorstCase(t *testing.T) {
	// A fully broken canary at 5 % of 100 rps with the worst scrape phase: trafficctl must stop
	// it within two scrapes, Flagger-style takes (threshold+1) intervals.
	cfg := DefaultSimConfig
	cfg.CanaryErrorRate, cfg.Fluid = 1, true
	var worst time.Duration
	for off := time.Duration(0); off < cfg.Scrape; off += time.Second {
		cfg.ScrapeOffset = off
		r := Simulate(cfg, NewSpecPolicy(BenchSpec()))
		if r.Outcome != SimRolledBack {
			t.Fatalf("offset %s: %s", off, r.Outcome)
		}
		worst = max(worst, r.Time)
	}
	if worst > 2*cfg.Scrape {
		t.Errorf("worst rollback after %s, want <= %s", worst, 2*cfg.Scrape)
	}
	if r := Simulate(cfg, NewFlaggerPolicy()); r.Outcome != SimRolledBack || r.Time != 180*time.Second || r.Leaked != 900 {
		t.Errorf("flagger-style: %+v, want rolled back at 180s with 900 leaked", r)
	}
}

func BenchmarkPolicyComparison(b *testing.B) {
	c := BenchSpec()
	var rows []CaseSummary
	for b.Loop() {
		rows = Compare(c)
	}
	for _, r := range rows {
		if r.Policy == "trafficctl" && r.Case == BenchCases()[0].Name {
			b.ReportMetric(r.MeanLeaked, "leaked/broken-run")
		}
	}
}
