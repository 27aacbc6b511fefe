package canary

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"text/tabwriter"
	"time"
)

// SimConfig describes the simulated traffic a policy is replayed against.
type SimConfig struct {
	// RPS is the apex's total request rate, split by the policy's canary weight.
	RPS             float64
	StableErrorRate float64
	CanaryErrorRate float64
	// Scrape is Prometheus' scrape interval; ScrapeOffset shifts the first scrape.
	Scrape       time.Duration
	ScrapeOffset time.Duration
	// Limit ends a run that neither promoted nor rolled back: it counts as held.
	Limit time.Duration
	// Seed drives the random arrivals and failures; Fluid replaces them by exact fractional
	// counts (for worst and best cases).
	Seed  uint64
	Fluid bool
}

// DefaultSimConfig is the benchmark's fair ground: linkerd-viz's 10 s scrape, 100 rps, the
// stable version failing 0.1 % of requests.
var DefaultSimConfig = SimConfig{RPS: 100, StableErrorRate: 0.001, Scrape: 10 * time.Second, Limit: 2 * time.Hour}

// SimOutcome is how a simulated rollout ended.
type SimOutcome string

// Simulated outcomes.
const (
	SimPromoted   SimOutcome = "promoted"
	SimRolledBack SimOutcome = "rolled back"
	SimHeld       SimOutcome = "held"
)

// SimResult is one simulated rollout.
type SimResult struct {
	Outcome SimOutcome
	Time    time.Duration
	// Leaked is the number of failed canary requests users saw.
	Leaked         float64
	CanaryRequests float64
}

// Scrapes are the counter values Prometheus holds, one snapshot per scrape.
type Scrapes struct {
	at     []time.Duration
	totals []Evidence
}

// Latest returns the counters of the last scrape at or before t (zero before the first).
func (s *Scrapes) Latest(t time.Duration) Evidence {
	var e Evidence
	for i, at := range s.at {
		if at > t {
			break
		}
		e = s.totals[i]
	}
	return e
}

// SimPolicy is a rollout policy driven by simulated time and scraped counters.
type SimPolicy interface {
	// Start returns the first canary weight.
	Start() int
	// Tick is called every simulated second; it returns the canary weight from now on and
	// whether the rollout ended (and how).
	Tick(t time.Duration, s *Scrapes) (weight int, end SimOutcome)
}

// Simulate replays traffic cfg against p.
func Simulate(cfg SimConfig, p SimPolicy) SimResult {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	var (
		live    Evidence
		scrapes Scrapes
		res     SimResult
		carry   [4]float64 // fluid mode's fractional remainders
	)
	draw := func(i int, mean float64) float64 {
		if cfg.Fluid {
			carry[i] += mean
			n := math.Floor(carry[i])
			carry[i] -= n
			return n
		}
		return poisson(rng, mean)
	}
	fail := func(i int, n, p float64) float64 {
		if cfg.Fluid {
			return draw(i, n*p)
		}
		return binomial(rng, n, p)
	}
	weight := p.Start()
	nextScrape := cfg.ScrapeOffset
	for t := time.Duration(0); t < cfg.Limit; t += time.Second {
		// One second of traffic at the current weight, then maybe a scrape, then the policy.
		w := float64(weight) / 100
		cn := draw(0, cfg.RPS*w)
		sn := draw(1, cfg.RPS*(1-w))
		cf := fail(2, cn, cfg.CanaryErrorRate)
		sf := fail(3, sn, cfg.StableErrorRate)
		live = live.Add(Evidence{Canary: Counts{cn, cf}, Stable: Counts{sn, sf}})
		res.Leaked += cf
		res.CanaryRequests += cn
		now := t + time.Second
		for nextScrape <= now {
			scrapes.at = append(scrapes.at, nextScrape)
			scrapes.totals = append(scrapes.totals, live)
			nextScrape += cfg.Scrape
		}
		var end SimOutcome
		weight, end = p.Tick(now, &scrapes)
		if end != "" {
			res.Outcome, res.Time = end, now
			return res
		}
	}
	res.Outcome, res.Time = SimHeld, cfg.Limit
	return res
}

// SpecPolicy runs trafficctl's own rules (Judge, Decide) for a spec in simulated time.
type SpecPolicy struct {
	c     *Canary
	st    *State
	epoch time.Time
	// ApproveGates approves every manual gate at once (for best-case timings).
	ApproveGates bool
	// Reached records when each step's weight was reached.
	Reached []time.Duration
}

// NewSpecPolicy returns the simulated policy of spec c.
func NewSpecPolicy(c *Canary) *SpecPolicy {
	epoch := time.Unix(0, 0).UTC()
	return &SpecPolicy{c: c, st: NewState(c, epoch), epoch: epoch}
}

// Start implements SimPolicy.
func (p *SpecPolicy) Start() int {
	p.st.Begin(p.c, Evidence{}, p.epoch)
	p.Reached = []time.Duration{0}
	return p.st.Weight
}

// Tick implements SimPolicy.
func (p *SpecPolicy) Tick(t time.Duration, s *Scrapes) (int, SimOutcome) {
	now := p.epoch.Add(t)
	if now.Before(p.st.NextAnalysis(p.c)) {
		return p.st.Weight, ""
	}
	tot := s.Latest(t)
	o := Observation{
		CanaryRequests: Reading{Value: tot.Canary.Requests},
		CanaryFailures: Reading{Value: tot.Canary.Failures},
		StableRequests: Reading{Value: tot.Stable.Requests},
		StableFailures: Reading{Value: tot.Stable.Failures},
	}
	r := Judge(p.c, o, p.st.Baseline, p.st.Prior)
	d := Decide(p.c, p.st, r, now)
	if d.Outcome == OutcomeAwait && p.ApproveGates {
		g, _ := p.c.gateAhead(p.st)
		p.st.Approved = append(p.st.Approved, Approval{Weight: g, By: "simulation", At: now})
		d = Decide(p.c, p.st, r, now)
	}
	p.st.Apply(d, r, now)
	if d.Outcome == OutcomeAdvance || d.Outcome == OutcomePromote {
		p.Reached = append(p.Reached, t)
	}
	switch d.Outcome {
	case OutcomePromote:
		return 100, SimPromoted
	case OutcomeRollback:
		return 0, SimRolledBack
	}
	return p.st.Weight, ""
}

// FlaggerPolicy models Flagger's canary analysis: every Interval, the success rate over Window
// (rate over 1m) must be at least MinSuccess; a failed check, including no data (NaN), adds to
// one cumulative counter, and the rollout is rolled back at the iteration that finds the counter
// at Threshold. A passed check adds StepWeight up to MaxWeight, then promotes.
type FlaggerPolicy struct {
	Interval, Window      time.Duration
	Threshold             int
	StepWeight, MaxWeight int
	MinSuccess            float64

	weight, failed int
}

// NewFlaggerPolicy returns Flagger's tutorial settings: 30 s interval, threshold 5, 5 % steps
// up to 50 %, success rate >= 99 % over 1m.
func NewFlaggerPolicy() *FlaggerPolicy {
	return &FlaggerPolicy{Interval: 30 * time.Second, Window: time.Minute, Threshold: 5, StepWeight: 5, MaxWeight: 50, MinSuccess: 99}
}

// Start implements SimPolicy.
func (f *FlaggerPolicy) Start() int {
	f.weight, f.failed = f.StepWeight, 0
	return f.weight
}

// Tick implements SimPolicy.
func (f *FlaggerPolicy) Tick(t time.Duration, s *Scrapes) (int, SimOutcome) {
	if t%f.Interval != 0 {
		return f.weight, ""
	}
	if f.failed >= f.Threshold {
		return 0, SimRolledBack
	}
	d := s.Latest(t).Since(s.Latest(t - f.Window)).Canary
	if d.Requests == 0 || 100*(1-d.Failures/d.Requests) < f.MinSuccess {
		f.failed++
		return f.weight, ""
	}
	if f.weight >= f.MaxWeight {
		return 100, SimPromoted
	}
	f.weight += f.StepWeight
	return f.weight, ""
}

// BenchSpec is the spec trafficctl's side of the benchmark runs: the default steps, analysis
// every 5 s, 50 canary requests per step, success rate >= 99 % (Flagger's threshold).
func BenchSpec() *Canary {
	minSR := 99.0
	c := &Canary{APIVersion: APIVersion, Kind: Kind, Metadata: Metadata{Name: "bench"}, Spec: Spec{
		Apex: "web-svc", Stable: Workload{"web-v1", "web-v1"}, Canary: Workload{"web-v2", "web-v2"},
		Steps: []int{5, 10, 25, 50, 100}, Interval: 5 * time.Second, MinRequests: 25, Deadline: time.Hour,
		Prometheus: "http://127.0.0.1:9090",
		Metrics:    []Metric{{Name: "success-rate", Type: MetricSuccessRate, Min: &minSR}},
	}}
	c.Default()
	return c
}

// CaseSummary aggregates the runs of one benchmark case for one policy.
type CaseSummary struct {
	Case, Policy            string
	Runs                    int
	Promoted, RolledBack    int
	Held                    int
	MeanLeaked, MaxLeaked   float64
	MeanTime, MaxTime       time.Duration
	MeanPromote, MaxPromote time.Duration
}

// BenchCase is one row pair of the comparison.
type BenchCase struct {
	Name string
	Cfg  SimConfig
	Runs int
}

// BenchCases are the benchmark's cases: a fully broken and a 5 % broken canary, healthy ones at
// 100 rps, and 20 healthy runs at 5 rps for false rollbacks.
func BenchCases() []BenchCase {
	with := func(rps, canaryErr float64) SimConfig {
		c := DefaultSimConfig
		c.RPS, c.CanaryErrorRate = rps, canaryErr
		return c
	}
	return []BenchCase{
		{Name: "broken 100% errors, 100 rps", Cfg: with(100, 1), Runs: 20},
		{Name: "broken 5% errors, 100 rps", Cfg: with(100, 0.05), Runs: 20},
		{Name: "healthy 0.1% errors, 100 rps", Cfg: with(100, 0.001), Runs: 20},
		{Name: "healthy 0.1% errors, 5 rps", Cfg: with(5, 0.001), Runs: 20},
	}
}

// RunCase replays one case's runs against a fresh policy from newPolicy for each run, with a
// different seed and scrape phase per run.
func RunCase(bc BenchCase, name string, newPolicy func() SimPolicy) CaseSummary {
	s := CaseSummary{Case: bc.Name, Policy: name, Runs: bc.Runs}
	var sumT, sumP time.Duration
	for i := 0; i < bc.Runs; i++ {
		cfg := bc.Cfg
		cfg.Seed = uint64(i + 1)
		cfg.ScrapeOffset = time.Duration(i%int(cfg.Scrape/time.Second)) * time.Second
		r := Simulate(cfg, newPolicy())
		s.MeanLeaked += r.Leaked / float64(bc.Runs)
		s.MaxLeaked = math.Max(s.MaxLeaked, r.Leaked)
		sumT += r.Time
		s.MaxTime = max(s.MaxTime, r.Time)
		switch r.Outcome {
		case SimPromoted:
			s.Promoted++
			sumP += r.Time
			s.MaxPromote = max(s.MaxPromote, r.Time)
		case SimRolledBack:
			s.RolledBack++
		default:
			s.Held++
		}
	}
	s.MeanTime = sumT / time.Duration(bc.Runs)
	if s.Promoted > 0 {
		s.MeanPromote = sumP / time.Duration(s.Promoted)
	}
	return s
}

// Compare runs every benchmark case against trafficctl's policy for c (manual gates approved at
// once: the benchmark measures the automation) and the Flagger-style policy. The simulation
// feeds the success-rate test only; latency and custom checks see no regression.
func Compare(c *Canary) []CaseSummary {
	var out []CaseSummary
	for _, bc := range BenchCases() {
		out = append(out,
			RunCase(bc, "trafficctl", func() SimPolicy {
				p := NewSpecPolicy(c)
				p.ApproveGates = true
				return p
			}),
			RunCase(bc, "flagger-style", func() SimPolicy { return NewFlaggerPolicy() }))
	}
	return out
}

// PrintComparison writes the comparison as a table.
func PrintComparison(w io.Writer, rows []CaseSummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tPOLICY\tRUNS\tPROMOTED\tROLLED BACK\tHELD\tLEAKED MEAN\tLEAKED MAX\tTIME MEAN\tTIME MAX")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.1f\t%.0f\t%s\t%s\n", r.Case, r.Policy, r.Runs, r.Promoted, r.RolledBack, r.Held,
			r.MeanLeaked, r.MaxLeaked, r.MeanTime.Round(time.Second), r.MaxTime.Round(time.Second))
	}
	return tw.Flush()
}

func poisson(rng *rand.Rand, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*rng.NormFloat64()))
	}
	l, k, p := math.Exp(-mean), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func binomial(rng *rand.Rand, n, p float64) float64 {
	if p >= 1 {
		return n
	}
	k := 0.0
	for i := 0.0; i < n; i++ {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}
