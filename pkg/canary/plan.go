package canary

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// PlanOptions are the traffic a plan assumes.
type PlanOptions struct {
	RPS             float64
	ErrorRate       float64
	StableErrorRate float64
	// Runs is how many simulated rollouts the expected leak is averaged over.
	Runs int
}

// DefaultPlanOptions are the flags' defaults: 100 rps, a fully broken canary, a stable version
// failing 0.1 % of requests.
var DefaultPlanOptions = PlanOptions{RPS: 100, ErrorRate: 1, StableErrorRate: 0.001, Runs: 50}

// Plan is what a rollout of a spec would do, computed without touching the cluster.
type Plan struct {
	Name     string      `json:"name"`
	SpecHash string      `json:"specHash"`
	Apex     string      `json:"apex"`
	Steps    []PlanStep  `json:"steps"`
	Options  PlanOptions `json:"assumptions"`
	// ShortestPromote is the earliest promotion of a healthy canary, gates approved at once.
	ShortestPromote time.Duration `json:"shortestPromote"`
	// WorstRollbackBroken is the latest rollback of a canary failing every request, over every
	// scrape phase.
	WorstRollbackBroken time.Duration `json:"worstRollbackBroken"`
	// RollbackUndecided is when a rollout without a verdict (no data, backend down) is rolled
	// back: the deadline.
	RollbackUndecided time.Duration `json:"rollbackUndecided"`
	// ExpectedLeaked is the mean number of failed canary requests users see at Options'
	// traffic and error rate, and Outcomes how the simulated rollouts ended.
	ExpectedLeaked float64            `json:"expectedLeaked"`
	Outcomes       map[SimOutcome]int `json:"outcomes"`
}

// PlanStep is one step of the plan; Earliest is when a healthy canary reaches it.
type PlanStep struct {
	Weight   int           `json:"weight"`
	Gate     bool          `json:"gate,omitempty"`
	Earliest time.Duration `json:"earliest"`
}

// MakePlan simulates c's policy: exact fluid traffic for the best and worst cases, and opts.Runs
// random rollouts for the expected leak.
func MakePlan(c *Canary, opts PlanOptions) Plan {
	p := Plan{Name: c.Metadata.Name, SpecHash: c.Hash(), Apex: c.Spec.Apex, Options: opts,
		RollbackUndecided: c.Spec.Deadline, Outcomes: map[SimOutcome]int{}}
	cfg := SimConfig{RPS: opts.RPS, StableErrorRate: opts.StableErrorRate, Scrape: c.Spec.ScrapeInterval,
		Limit: c.Spec.Deadline + c.Spec.Interval, Fluid: true}

	healthy := cfg
	healthy.StableErrorRate = 0
	var best *SpecPolicy
	for off := time.Duration(0); off < cfg.Scrape; off += time.Second {
		healthy.ScrapeOffset = off
		pol := NewSpecPolicy(c)
		pol.ApproveGates = true
		r := Simulate(healthy, pol)
		if r.Outcome == SimPromoted && (best == nil || r.Time < p.ShortestPromote) {
			best, p.ShortestPromote = pol, r.Time
		}

		broken := cfg
		broken.CanaryErrorRate, broken.ScrapeOffset = 1, off
		if r := Simulate(broken, NewSpecPolicy(c)); r.Time > p.WorstRollbackBroken {
			p.WorstRollbackBroken = r.Time
		}
	}
	for i, w := range c.Steps() {
		st := PlanStep{Weight: w, Gate: c.Gate(w)}
		if best != nil && i < len(best.Reached) {
			st.Earliest = best.Reached[i]
		}
		p.Steps = append(p.Steps, st)
	}

	rand := cfg
	rand.Fluid, rand.CanaryErrorRate = false, opts.ErrorRate
	for i := 0; i < opts.Runs; i++ {
		rand.Seed = uint64(i + 1)
		rand.ScrapeOffset = time.Duration(i%int(max(1, cfg.Scrape/time.Second))) * time.Second
		pol := NewSpecPolicy(c)
		pol.ApproveGates = true
		r := Simulate(rand, pol)
		p.ExpectedLeaked += r.Leaked / float64(opts.Runs)
		p.Outcomes[r.Outcome]++
	}
	return p
}

// Print writes the plan for a terminal.
func (p Plan) Print(w io.Writer) error {
	fmt.Fprintf(w, "Canary %s on apex %s (spec %s)\n\n", p.Name, p.Apex, p.SpecHash)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tCANARY WEIGHT\tGATE\tEARLIEST")
	for i, s := range p.Steps {
		gate := ""
		if s.Gate {
			gate = "manual"
		}
		fmt.Fprintf(tw, "%d\t%d%%\t%s\t%s\n", i+1, s.Weight, gate, s.Earliest)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	o := p.Options
	_, err := fmt.Fprintf(w, `
Shortest time to promote (healthy canary, gates approved at once): %s
Worst-case time to roll back a fully broken canary:                %s
Roll back without a verdict (no data / backend down, deadline):   %s
At %g rps, canary error rate %g%%, stable %g%% (%d simulated runs):
  expected failed requests leaked: %.1f
  outcomes: %d promoted, %d rolled back, %d held
`, p.ShortestPromote, p.WorstRollbackBroken, p.RollbackUndecided, o.RPS, 100*o.ErrorRate, 100*o.StableErrorRate, o.Runs,
		p.ExpectedLeaked, p.Outcomes[SimPromoted], p.Outcomes[SimRolledBack], p.Outcomes[SimHeld])
	return err
}
