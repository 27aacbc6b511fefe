package load

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trafficctl/trafficctl/pkg/report"
)

// ErrSLONeverMet is returned by Capacity when not even the lowest rate meets the SLO.
var ErrSLONeverMet = errors.New("not even the lowest rate meets the SLO")

// Probe is one fixed-rate run and the figures a search or sweep reads from it.
type Probe struct {
	Rate          float64       `json:"rate"`
	Connections   int           `json:"connections,omitempty"`
	AttemptedRate float64       `json:"attempted_rate"`
	AchievedRate  float64       `json:"achieved_rate"`
	Throughput    float64       `json:"throughput"`
	Requests      uint64        `json:"requests"`
	Success       float64       `json:"success"`
	P50           time.Duration `json:"p50"`
	P99           time.Duration `json:"p99"`
	CorrectedP50  time.Duration `json:"corrected_p50"`
	CorrectedP99  time.Duration `json:"corrected_p99"`
	CorrectedMax  time.Duration `json:"corrected_max"`
	LateSends     uint64        `json:"late_sends"`
	// Passed tells whether the probe met the SLO (capacity search only).
	Passed bool `json:"passed"`

	report *Report
}

// Report is the full report behind the probe.
func (p *Probe) Report() *Report { return p.report }

func newProbe(rate float64, conns int, rep *Report) *Probe {
	return &Probe{
		Rate: rate, Connections: conns, AttemptedRate: rep.AttemptedRate, AchievedRate: rep.Rate,
		Throughput: rep.Throughput, Requests: rep.Requests, Success: rep.Success,
		P50: rep.RawLatencies.P50, P99: rep.RawLatencies.P99,
		CorrectedP50: rep.CorrectedLatencies.P50, CorrectedP99: rep.CorrectedLatencies.P99,
		CorrectedMax: rep.CorrectedLatencies.Max, LateSends: rep.LateSends, report: rep,
	}
}

// Name labels the probe in tables.
func (p *Probe) Name() string {
	if p.Connections > 0 {
		return fmt.Sprintf("%g/s x %d conns", p.Rate, p.Connections)
	}
	return fmt.Sprintf("%g/s", p.Rate)
}

// generatorLimited tells whether the generator, not the target, fell behind: many late sends
// or an achieved rate well under the attempted one.
func (p *Probe) generatorLimited() bool {
	return p.Requests > 0 && (float64(p.LateSends) > 0.02*float64(p.Requests) || p.AchievedRate < 0.9*p.Rate)
}

// Prober runs one fixed-rate probe with conns connections (0: grow with demand).
type Prober func(ctx context.Context, rate float64, conns int) (*Probe, error)

// NewProber returns a Prober attacking ts for du per probe, with attackers built by mk, and a
// pause between probes so the target drains.
func NewProber(mk func(conns int) *Attacker, ts *TargetSet, du, pause time.Duration) Prober {
	first := true
	return func(ctx context.Context, rate float64, conns int) (*Probe, error) {
		if !first && pause > 0 {
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		first = false
		rep, err := mk(conns).Run(ctx, ts, RateOf(rate), du, RunOptions{Name: fmt.Sprintf("%g/s", rate)})
		if err != nil {
			return nil, err
		}
		return newProbe(rate, conns, rep), nil
	}
}

// SLO is what a sustainable rate must meet, on corrected latencies.
type SLO struct {
	P99 time.Duration `json:"p99"`
	// MinSuccess is in percent.
	MinSuccess float64 `json:"min_success"`
}

func (s SLO) met(p *Probe) bool {
	return p.Requests > 0 && p.CorrectedP99 <= s.P99 && p.Success*100 >= s.MinSuccess
}

func (s SLO) String() string {
	return fmt.Sprintf("corrected p99 <= %s, success >= %g%%", s.P99, s.MinSuccess)
}

// CapacityOptions bound the search.
type CapacityOptions struct {
	SLO SLO
	// Start is the first rate tried; MaxRate caps the exponential phase.
	Start, MaxRate float64
	// Precision ends the bisection when (high-low)/low is below it (0.02: within 2 %).
	Precision   float64
	Connections int
}

// CapacityResult is the highest rate found to meet the SLO and how it was found.
type CapacityResult struct {
	MaxRate float64 `json:"max_rate"`
	SLO     SLO     `json:"slo"`
	// FirstFailing is the lowest rate seen to breach the SLO (0 when MaxRate was reached).
	FirstFailing float64 `json:"first_failing_rate,omitempty"`
	// GeneratorLimited tells that the failing probes were late or short of their rate: the
	// limit found may be the load generator's, not the target's.
	GeneratorLimited bool     `json:"generator_limited"`
	Probes           []*Probe `json:"probes"`
}

// Capacity searches the highest rate meeting the SLO, as Nighthawk does: double the rate
// until it fails, then bisect between the last pass and the first failure until they are
// within opts.Precision. It returns ErrSLONeverMet (with the probes) when the starting rate
// already fails.
func Capacity(ctx context.Context, probe Prober, opts CapacityOptions) (*CapacityResult, error) {
	if opts.Start <= 0 || opts.Precision <= 0 || opts.MaxRate < opts.Start {
		return nil, fmt.Errorf("capacity search needs start > 0, precision > 0 and max rate >= start")
	}
	res := &CapacityResult{SLO: opts.SLO}
	try := func(rate float64) (bool, error) {
		p, err := probe(ctx, rate, opts.Connections)
		if err != nil {
			return false, err
		}
		p.Passed = opts.SLO.met(p)
		res.Probes = append(res.Probes, p)
		if !p.Passed && p.generatorLimited() {
			res.GeneratorLimited = true
		}
		return p.Passed, nil
	}
	lo, hi := 0.0, 0.0
	for rate := opts.Start; ; rate = min(rate*2, opts.MaxRate) {
		ok, err := try(rate)
		if err != nil {
			return res, err
		}
		if !ok {
			hi = rate
			break
		}
		lo = rate
		if rate >= opts.MaxRate {
			res.MaxRate = lo
			return res, nil
		}
	}
	if lo == 0 {
		res.FirstFailing = hi
		return res, fmt.Errorf("%w: %g/s breached %s", ErrSLONeverMet, hi, opts.SLO)
	}
	for (hi-lo)/lo > opts.Precision {
		mid := roundRate((lo + hi) / 2)
		if mid <= lo || mid >= hi {
			break
		}
		ok, err := try(mid)
		if err != nil {
			return res, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	res.MaxRate, res.FirstFailing = lo, hi
	return res, nil
}

// roundRate keeps probe rates readable: whole requests per second above 10/s.
func roundRate(r float64) float64 {
	if r >= 10 {
		return float64(int64(r + 0.5))
	}
	return float64(int64(r*100+0.5)) / 100
}

// Sweep runs one probe per rate (conns fixed) or one per connection count (rate fixed).
func Sweep(ctx context.Context, probe Prober, rates []float64, conns []int) ([]*Probe, error) {
	var out []*Probe
	for _, r := range rates {
		for _, c := range conns {
			p, err := probe(ctx, r, c)
			if err != nil {
				return out, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// ProbeTable lists probes side by side.
func ProbeTable(title string, probes []*Probe, withVerdict bool) report.Table {
	parts := make([]Breakdown, len(probes))
	for i, p := range probes {
		parts[i] = Breakdown{Name: p.Name(), Report: p.report}
	}
	t := BreakdownTable(title, "probe", parts)
	if withVerdict {
		t.Header = append(t.Header, "SLO")
		for i, p := range probes {
			v := "met"
			if !p.Passed {
				v = "breached"
			}
			t.Rows[i] = append(t.Rows[i], v)
		}
	}
	return t
}

// LatencyChart plots p50, p99 and corrected p99 of probes against x (rate or connections).
func LatencyChart(title, xlabel string, probes []*Probe, x func(*Probe) float64) report.Chart {
	var p50, p99, cor []report.Point
	for _, p := range probes {
		p50 = append(p50, report.Point{X: x(p), Y: ms(p.P50)})
		p99 = append(p99, report.Point{X: x(p), Y: ms(p.P99)})
		cor = append(cor, report.Point{X: x(p), Y: ms(p.CorrectedP99)})
	}
	return report.Chart{Title: title, XLabel: xlabel, YLabel: "latency (ms)", Series: []report.Series{{Name: "p50", Points: p50}, {Name: "p99", Points: p99}, {Name: "corrected p99", Points: cor}}}
}

// ThroughputChart plots attempted and achieved rates of probes against x.
func ThroughputChart(title, xlabel string, probes []*Probe, x func(*Probe) float64) report.Chart {
	var att, ach []report.Point
	for _, p := range probes {
		att = append(att, report.Point{X: x(p), Y: p.AttemptedRate})
		ach = append(ach, report.Point{X: x(p), Y: p.Throughput})
	}
	return report.Chart{Title: title, XLabel: xlabel, YLabel: "requests per second", Series: []report.Series{{Name: "attempted", Points: att}, {Name: "successful", Points: ach}}}
}
