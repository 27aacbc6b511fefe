package canary

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/trafficctl/trafficctl/pkg/split"
)

// ErrNotApplicable: the command does not apply to the rollout's current phase.
var ErrNotApplicable = errors.New("not applicable now")

// Control changes a running rollout on behalf of a person. Every change is one atomic write of
// state and audit entry, so a running engine (or the one that resumes after it) sees it.
type Control struct {
	Store  *Store
	Router split.Router
	Actor  string
	Now    func() time.Time
}

func (ct *Control) now() time.Time {
	if ct.Now != nil {
		return ct.Now()
	}
	return time.Now()
}

func (ct *Control) entry(r *Record, event, reason string, after int, phase Phase) *Entry {
	return &Entry{Time: ct.now(), Canary: r.State.Name, SpecHash: r.State.SpecHash, Event: event, Actor: ct.Actor, Step: r.State.Step,
		WeightBefore: r.State.Weight, WeightAfter: after, Phase: phase, Reason: reason}
}

// Promote approves the manual gate at the rollout's current weight, or the gate at 100 before full
// promotion. The approval is stored, so
// it survives a restart of the engine; the engine advances at its next passing analysis.
func (ct *Control) Promote(ctx context.Context, apex string) (*Record, error) {
	gate := -1
	rec, err := ct.Store.Update(ctx, apex, func(r *Record) (*Entry, error) {
		st := r.State
		g, ok := r.Spec.gateAhead(st)
		if st.Phase.Terminal() || st.Step < 0 || !ok {
			return nil, fmt.Errorf("%w: canary %s is %s at %d%%, not at a manual gate (gates: %v)", ErrNotApplicable, st.Name, st.Phase, st.Weight, r.Spec.Spec.Gates)
		}
		gate = g
		if st.approved(g) {
			return nil, nil
		}
		st.Approved = append(st.Approved, Approval{Weight: g, By: ct.Actor, At: ct.now()})
		if st.Phase == PhaseAwaitingApproval {
			st.Phase = PhaseProgressing
		}
		return ct.entry(r, "approve", fmt.Sprintf("gate at %d%% approved", g), st.Weight, st.Phase), nil
	})
	if err == nil {
		emitEvent(ct.Store.kube, ct.Store.ns, apex, "Approved", corev1.EventTypeNormal, fmt.Sprintf("gate at %d%% approved by %s", gate, ct.Actor), ct.Actor)
	}
	return rec, err
}

// Abort rolls the canary back at once: all traffic to the stable version.
func (ct *Control) Abort(ctx context.Context, apex, reason string) (*Record, error) {
	if reason == "" {
		reason = "aborted by " + ct.Actor
	}
	rec, err := ct.Store.Update(ctx, apex, func(r *Record) (*Entry, error) {
		st := r.State
		if st.Phase.Terminal() {
			return nil, fmt.Errorf("%w: canary %s already ended (%s)", ErrNotApplicable, st.Name, st.Phase)
		}
		e := ct.entry(r, "abort", reason, 0, PhaseAborted)
		st.Phase, st.Message = PhaseAborted, reason
		st.Shifting = st.Step >= 0
		st.Weight = 0
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	emitEvent(ct.Store.kube, ct.Store.ns, apex, "Aborted", corev1.EventTypeWarning, reason, ct.Actor)
	if rec.State.Shifting {
		if err := FinishShift(ctx, ct.Store, ct.Router, rec); err != nil {
			return rec, err
		}
	}
	return ct.Store.Get(ctx, apex)
}

// Pause stops analysis and traffic changes until Resume; the weights stay as they are.
func (ct *Control) Pause(ctx context.Context, apex string) (*Record, error) {
	return ct.Store.Update(ctx, apex, func(r *Record) (*Entry, error) {
		st := r.State
		if st.Phase.Terminal() || st.Phase == PhasePaused {
			return nil, fmt.Errorf("%w: canary %s is %s", ErrNotApplicable, st.Name, st.Phase)
		}
		st.PausedPhase, st.Phase = st.Phase, PhasePaused
		return ct.entry(r, "pause", "paused by "+ct.Actor, st.Weight, PhasePaused), nil
	})
}

// Resume continues a paused rollout. The next analysis covers the step's whole window, the
// pause included: the traffic kept flowing at the step's weight.
func (ct *Control) Resume(ctx context.Context, apex string) (*Record, error) {
	return ct.Store.Update(ctx, apex, func(r *Record) (*Entry, error) {
		st := r.State
		if st.Phase != PhasePaused {
			return nil, fmt.Errorf("%w: canary %s is %s, not paused", ErrNotApplicable, st.Name, st.Phase)
		}
		st.Phase, st.PausedPhase = st.PausedPhase, ""
		return ct.entry(r, "resume", "resumed by "+ct.Actor, st.Weight, st.Phase), nil
	})
}
