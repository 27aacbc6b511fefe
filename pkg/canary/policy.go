package canary

import (
	"fmt"
	"time"
)

// Phase is where a rollout is.
type Phase string

// Phases. Promoted, RolledBack, Aborted and DeadlineExceeded are terminal.
const (
	PhaseProgressing      Phase = "Progressing"
	PhaseAwaitingApproval Phase = "AwaitingApproval"
	PhasePaused           Phase = "Paused"
	PhasePromoted         Phase = "Promoted"
	PhaseRolledBack       Phase = "RolledBack"
	PhaseAborted          Phase = "Aborted"
	PhaseDeadlineExceeded Phase = "DeadlineExceeded"
)

// Terminal reports whether the rollout has ended.
func (p Phase) Terminal() bool {
	switch p {
	case PhasePromoted, PhaseRolledBack, PhaseAborted, PhaseDeadlineExceeded:
		return true
	}
	return false
}

// State is a rollout's progress. The engine keeps it in the cluster and rewrites it with every
// decision, so that a new process continues exactly where a killed one stopped.
type State struct {
	Name     string `json:"name"`
	SpecHash string `json:"specHash"`
	Phase    Phase  `json:"phase"`
	// Step indexes the spec's steps; Weight is the canary weight the split was last set to.
	Step   int `json:"step"`
	Weight int `json:"weight"`
	// Shifting is set while the split is being moved to Weight: a process that finds it set
	// re-applies the same weights (idempotent) before anything else.
	Shifting     bool      `json:"shifting,omitempty"`
	Started      time.Time `json:"started"`
	StepStarted  time.Time `json:"stepStarted"`
	LastAnalysis time.Time `json:"lastAnalysis,omitempty"`
	// Baseline holds both versions' request counters when the step started.
	Baseline Evidence `json:"baseline"`
	// Prior is the evidence of the completed steps.
	Prior Evidence `json:"prior"`
	// Approved lists the gate weights someone promoted, with who did it.
	Approved []Approval `json:"approved,omitempty"`
	// PausedPhase is the phase to go back to on resume.
	PausedPhase Phase  `json:"pausedPhase,omitempty"`
	Message     string `json:"message,omitempty"`
	// Head is the hash of the audit log's last entry: the anchor that shows a rewritten log.
	Head string `json:"head,omitempty"`
}

// Approval is a gate approval.
type Approval struct {
	Weight int       `json:"weight"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Approved reports whether the gate at weight w was approved.
func (s *State) approved(w int) bool {
	for _, a := range s.Approved {
		if a.Weight == w {
			return true
		}
	}
	return false
}

// Outcome is what a decision does to the traffic.
type Outcome string

// Outcomes.
const (
	OutcomeHold     Outcome = "hold"
	OutcomeAdvance  Outcome = "advance"
	OutcomeAwait    Outcome = "await-approval"
	OutcomePromote  Outcome = "promote"
	OutcomeRollback Outcome = "rollback"
)

// Decision is the policy's answer to one analysis.
type Decision struct {
	Outcome Outcome `json:"outcome"`
	// Weight is the canary weight after the decision.
	Weight int    `json:"weight"`
	Phase  Phase  `json:"phase"`
	Reason string `json:"reason"`
}

// NewState starts a rollout of c at now, before any traffic moved.
func NewState(c *Canary, now time.Time) *State {
	return &State{Name: c.Metadata.Name, SpecHash: c.Hash(), Phase: PhaseProgressing, Step: -1, Started: now}
}

// Decide applies the spec's policy to an analysis result. It is pure: the engine and the
// benchmark's simulation run exactly the same rules.
func Decide(c *Canary, s *State, r Result, now time.Time) Decision {
	steps := c.Steps()
	hold := Decision{Outcome: OutcomeHold, Weight: s.Weight, Phase: s.Phase, Reason: r.Reason}
	rollback := func(phase Phase, why string) Decision {
		return Decision{Outcome: OutcomeRollback, Weight: 0, Phase: phase, Reason: why}
	}
	if r.Verdict == VerdictBad {
		return rollback(PhaseRolledBack, r.Reason)
	}
	if now.Sub(s.Started) >= c.Spec.Deadline {
		return rollback(PhaseDeadlineExceeded, fmt.Sprintf("deadline %s passed without a verdict (last: %s)", c.Spec.Deadline, r.Reason))
	}
	switch r.Verdict {
	case VerdictNoData:
		if c.Spec.OnNoData == ActionRollback {
			return rollback(PhaseRolledBack, "no data (onNoData: rollback): "+r.Reason)
		}
		hold.Reason = "no data, holding: " + r.Reason
		return hold
	case VerdictBackendDown:
		if c.Spec.OnBackendDown == ActionRollback {
			return rollback(PhaseRolledBack, "metrics backend down (onBackendDown: rollback): "+r.Reason)
		}
		hold.Reason = "metrics backend down, holding: " + r.Reason
		return hold
	case VerdictPending:
		return hold
	}
	// Passed.
	if g, ok := c.gateAhead(s); ok && !s.approved(g) {
		at := "at the gate"
		if g != s.Weight {
			at = fmt.Sprintf("at the gate before %d%%", g)
		}
		return Decision{Outcome: OutcomeAwait, Weight: s.Weight, Phase: PhaseAwaitingApproval,
			Reason: fmt.Sprintf("analysis passed at %d%%; waiting %s for `trafficctl canary promote`", s.Weight, at)}
	}
	if s.Step+1 >= len(steps) {
		// The last step (100 %, or the only one of `steps: [100]`) passed: nothing left to shift.
		return Decision{Outcome: OutcomePromote, Weight: 100, Phase: PhasePromoted, Reason: r.Reason}
	}
	next := steps[s.Step+1]
	if next == 100 {
		return Decision{Outcome: OutcomePromote, Weight: 100, Phase: PhasePromoted, Reason: r.Reason}
	}
	return Decision{Outcome: OutcomeAdvance, Weight: next, Phase: PhaseProgressing, Reason: r.Reason}
}

// Apply records a decision in the state: the step and its evidence move on only on advance.
func (s *State) Apply(d Decision, r Result, now time.Time) {
	s.LastAnalysis = now
	s.Message = d.Reason
	s.Phase = d.Phase
	switch d.Outcome {
	case OutcomeAdvance, OutcomePromote:
		s.Prior = s.Prior.Add(r.Step)
		s.Baseline = r.Totals
		s.Step++
		s.StepStarted = now
	}
	s.Weight = d.Weight
}

// Begin moves a fresh rollout to its first step; baseline is the counters read just before.
func (s *State) Begin(c *Canary, baseline Evidence, now time.Time) {
	s.Baseline = baseline
	s.Step = 0
	s.Weight = c.Steps()[0]
	s.StepStarted = now
}

// NextAnalysis is when the next analysis is due: one interval after the step started or after
// the last analysis, whichever is later.
func (s *State) NextAnalysis(c *Canary) time.Time {
	t := s.StepStarted.Add(c.Spec.Interval)
	if n := s.LastAnalysis.Add(c.Spec.Interval); n.After(t) {
		t = n
	}
	return t
}

// gateAhead returns the gate the rollout waits at after this step's analysis passes: the
// current weight's, or the gate at 100 when the next step is full promotion (a gate at 100
// stops before promotion; the weight never sits at 100 unless it is the only step). The first
// unapproved one wins; ok is false when neither weight is a gate.
func (c *Canary) gateAhead(s *State) (gate int, ok bool) {
	ws := []int{s.Weight}
	if steps := c.Steps(); s.Step+1 >= len(steps) || steps[s.Step+1] == 100 {
		ws = append(ws, 100)
	}
	gate = -1
	for _, w := range ws {
		if !c.Gate(w) {
			continue
		}
		if !s.approved(w) {
			return w, true
		}
		gate = w
	}
	return gate, gate >= 0
}
