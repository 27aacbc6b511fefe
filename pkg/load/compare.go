package load

import (
	"context"
	"errors"
	"fmt"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trafficctl/trafficctl/pkg/report"
)

// Comparison is the cost of the target relative to the baseline at equal load (the mesh tax
// when the target is the meshed path): deltas are target minus baseline.
type Comparison struct {
	Rate     float64 `json:"rate"`
	Rounds   int     `json:"rounds"`
	Baseline *Report `json:"baseline"`
	Target   *Report `json:"target"`
	// Deltas on the raw (on the wire) and corrected latencies.
	DeltaP50          time.Duration `json:"delta_p50"`
	DeltaP99          time.Duration `json:"delta_p99"`
	DeltaMax          time.Duration `json:"delta_max"`
	DeltaCorrectedP50 time.Duration `json:"delta_corrected_p50"`
	DeltaCorrectedP99 time.Duration `json:"delta_corrected_p99"`
	// MaxRate compares the highest rates under an SLO, when a capacity search was asked for.
	MaxRate *MaxRateComparison `json:"max_rate,omitempty"`
}

// MaxRateComparison is the highest rate each side sustains under one SLO, and the searches
// behind the figures. A side that meets the SLO at no rate has a max rate of 0.
type MaxRateComparison struct {
	SLO      SLO     `json:"slo"`
	Baseline float64 `json:"baseline"`
	Target   float64 `json:"target"`
	// Delta is target minus baseline, in requests per second: negative when the target
	// sustains less.
	Delta          float64         `json:"delta"`
	BaselineSearch *CapacityResult `json:"baseline_search"`
	TargetSearch   *CapacityResult `json:"target_search"`
}

// CompareMaxRate runs the capacity search of opts on the baseline, then on the target. A side
// that never meets the SLO is not an error: its max rate is 0 and its search says where it
// breached.
func CompareMaxRate(ctx context.Context, baseline, target Prober, opts CapacityOptions) (*MaxRateComparison, error) {
	var res [2]*CapacityResult
	for i, probe := range []Prober{baseline, target} {
		r, err := Capacity(ctx, probe, opts)
		if err != nil && !errors.Is(err, ErrSLONeverMet) {
			return nil, fmt.Errorf("max rate of the %s: %w", [2]string{"baseline", "target"}[i], err)
		}
		res[i] = r
	}
	return &MaxRateComparison{
		SLO: opts.SLO, Baseline: res[0].MaxRate, Target: res[1].MaxRate, Delta: res[1].MaxRate - res[0].MaxRate,
		BaselineSearch: res[0], TargetSearch: res[1],
	}, nil
}

// Compare attacks baseline and target in alternating rounds of du each (B T, T B, B T, ...)
// so that drift of the machine falls on both sides alike, and merges each side's rounds
// into one report (histograms merged, not averaged).
func Compare(ctx context.Context, a *Attacker, baseline, target *TargetSet, rate vegeta.Rate, du time.Duration, rounds int) (*Comparison, error) {
	if rounds < 1 {
		return nil, fmt.Errorf("compare needs at least one round")
	}
	recs := [2]*Recorder{NewRecorder(a.lateThreshold, StepFor(du*time.Duration(rounds))), NewRecorder(a.lateThreshold, StepFor(du*time.Duration(rounds)))}
	sets := [2]*TargetSet{baseline, target}
	// Rates of merged rounds are per round, weighted by requests: the pauses between rounds are
	// not part of the load.
	var attempted, achieved, throughput [2]float64
	for r := range rounds {
		order := [2]int{0, 1}
		if r%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, side := range order {
			rec := recs[side]
			rep, err := a.Run(ctx, sets[side], rate, du, RunOptions{Name: [2]string{"baseline", "target"}[side], Observe: rec.Add})
			if err != nil {
				return nil, err
			}
			n := float64(rep.Requests)
			attempted[side] += rep.AttemptedRate * n
			achieved[side] += rep.Rate * n
			throughput[side] += rep.Throughput * n
		}
	}
	b, t := recs[0].Report(), recs[1].Report()
	for side, rep := range []*Report{b, t} {
		if n := float64(rep.Requests); n > 0 {
			rep.AttemptedRate, rep.Rate, rep.Throughput = attempted[side]/n, achieved[side]/n, throughput[side]/n
		}
	}
	return &Comparison{
		Rate: PerSecond(rate), Rounds: rounds, Baseline: b, Target: t,
		DeltaP50:          t.RawLatencies.P50 - b.RawLatencies.P50,
		DeltaP99:          t.RawLatencies.P99 - b.RawLatencies.P99,
		DeltaMax:          t.RawLatencies.Max - b.RawLatencies.Max,
		DeltaCorrectedP50: t.CorrectedLatencies.P50 - b.CorrectedLatencies.P50,
		DeltaCorrectedP99: t.CorrectedLatencies.P99 - b.CorrectedLatencies.P99,
	}, nil
}

// Table is the comparison side by side.
func (c *Comparison) Table() report.Table {
	t := BreakdownTable(fmt.Sprintf("Comparison at %g/s, %d interleaved rounds", c.Rate, c.Rounds), "side",
		[]Breakdown{{Name: "baseline", Report: c.Baseline}, {Name: "target", Report: c.Target}})
	d := func(v time.Duration) string { return fmt.Sprintf("%+.2f ms", ms(v)) }
	t.Rows = append(t.Rows, []string{"delta", "", "", "", "", d(c.DeltaP50), d(c.DeltaP99), d(c.DeltaCorrectedP99), "", ""})
	return t
}

// Table is the max-rate comparison, one row per side and the delta, with a note for a side
// whose figure is not the target's capacity: the SLO never met, or the generator fell behind.
func (m *MaxRateComparison) Table() report.Table {
	row := func(side string, r *CapacityResult) []string {
		note := ""
		switch {
		case r.GeneratorLimited:
			// Checked first: a generator that fell behind says nothing of the target, even at 0/s.
			note = "generator fell behind: a floor"
		case r.MaxRate == 0 && r.FirstFailing > 0:
			note = fmt.Sprintf("SLO not met even at %g/s", r.FirstFailing)
		case r.FirstFailing == 0:
			note = "not breached up to the max rate probed"
		}
		return []string{side, fmt.Sprintf("%g/s", r.MaxRate), note}
	}
	return report.Table{
		Title:  "Max rate under " + m.SLO.String(),
		Header: []string{"side", "max rate", "note"},
		Rows: [][]string{
			row("baseline", m.BaselineSearch), row("target", m.TargetSearch),
			{"delta", fmt.Sprintf("%+g/s", m.Delta), ""},
		},
	}
}
