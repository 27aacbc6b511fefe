package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

// Errors of a run that the command line maps to exit codes.
var (
	// ErrPreflight: the spec does not fit the cluster (unknown Service or Deployment, a bad
	// query); nothing was changed.
	ErrPreflight = errors.New("canary preflight failed")
	// ErrSpecChanged: the stored rollout was started from another spec.
	ErrSpecChanged = errors.New("stored rollout has another spec")
)

// Engine runs rollouts: it reads metrics through Provider, moves traffic through Router and
// keeps state and audit log in the cluster through Kube.
type Engine struct {
	Kube     kubernetes.Interface
	Router   split.Router
	Provider metrics.Provider
	// Actor names who runs the engine in the audit log ("alice via trafficctl canary run").
	Actor string
	// Out receives one progress line per decision; nil discards them.
	Out io.Writer
	// Gauges, when set, export the current weight and phase.
	Gauges *Gauges
	// Now and Sleep are the clock; nil means the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	// events records the decisions of the current Run; an Engine runs one rollout at a time.
	events *eventRecorder
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	if e.Sleep != nil {
		return e.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (e *Engine) printf(format string, args ...any) {
	if e.Out != nil {
		fmt.Fprintf(e.Out, "%s ", e.now().UTC().Format("15:04:05"))
		fmt.Fprintf(e.Out, format+"\n", args...)
	}
}

// Preflight checks that c fits the cluster before anything changes: the Services and
// Deployments exist, the metrics backend answers and every query parses.
func (e *Engine) Preflight(ctx context.Context, c *Canary, ns string) error {
	for _, svc := range []string{c.Spec.Apex, c.Spec.Stable.Service, c.Spec.Canary.Service} {
		if _, err := e.Kube.CoreV1().Services(ns).Get(ctx, svc, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("%w: Service %s/%s not found: create it or fix the spec", ErrPreflight, ns, svc)
			}
			return fmt.Errorf("get Service %s/%s: %w", ns, svc, err)
		}
	}
	for _, d := range []string{c.Spec.Stable.Deployment, c.Spec.Canary.Deployment} {
		if _, err := e.Kube.AppsV1().Deployments(ns).Get(ctx, d, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("%w: Deployment %s/%s not found: create it or fix the spec", ErrPreflight, ns, d)
			}
			return fmt.Errorf("get Deployment %s/%s: %w", ns, d, err)
		}
	}
	if err := e.Provider.Check(ctx); err != nil {
		return fmt.Errorf("%w (check spec.prometheus and that Prometheus is up)", err)
	}
	obs := Observe(ctx, e.Provider, c, ns, c.QueryWindow(0), time.Time{})
	for _, r := range append([]Reading{obs.CanaryRequests, obs.CanaryFailures}, readings(obs)...) {
		if errors.Is(r.Err, metrics.ErrBadQuery) {
			return fmt.Errorf("%w: %w", ErrPreflight, r.Err)
		}
	}
	if _, err := e.Router.Get(ctx, ns, c.Spec.Apex); err != nil && !errors.Is(err, split.ErrNotFound) {
		return fmt.Errorf("read the split of %s/%s: %w", ns, c.Spec.Apex, err)
	}
	return nil
}

func readings(o Observation) []Reading {
	var out []Reading
	for _, r := range o.Canary {
		out = append(out, r)
	}
	for _, r := range o.Stable {
		out = append(out, r)
	}
	return out
}

// Run drives c's rollout in namespace ns to its end and returns the final phase. It resumes a
// rollout of the same spec that a previous process left unfinished.
func (e *Engine) Run(ctx context.Context, c *Canary, ns string) (Phase, error) {
	if err := e.Preflight(ctx, c, ns); err != nil {
		return "", err
	}
	e.events = newEventRecorder(e.Kube, e.Actor)
	defer func() {
		e.events.close()
		e.events = nil
	}()
	store := NewStore(e.Kube, ns)
	now := e.now()
	rec, created, err := store.Create(ctx, c, NewState(c, now), Entry{Time: now, Canary: c.Metadata.Name, SpecHash: c.Hash(),
		Event: "start", Actor: e.Actor, Step: -1, Phase: PhaseProgressing, Reason: fmt.Sprintf("steps %v, interval %s, deadline %s", c.Steps(), c.Spec.Interval, c.Spec.Deadline)})
	if err != nil {
		return "", err
	}
	if created {
		e.printf("started canary %s on %s/%s: steps %v (spec %s)", c.Metadata.Name, ns, c.Spec.Apex, c.Steps(), c.Hash())
		e.event(ns, c, rec.State, "Started", corev1.EventTypeNormal, "canary started")
	} else {
		rec, err = store.Update(ctx, c.Spec.Apex, func(r *Record) (*Entry, error) {
			return &Entry{Time: e.now(), Canary: c.Metadata.Name, SpecHash: c.Hash(), Event: "resume", Actor: e.Actor,
				Step: r.State.Step, WeightBefore: r.State.Weight, WeightAfter: r.State.Weight, Phase: r.State.Phase,
				Reason: "a new process took over the rollout"}, nil
		})
		if err != nil {
			return "", err
		}
		e.printf("resuming canary %s on %s/%s: %s at step %d (%d%%)", c.Metadata.Name, ns, c.Spec.Apex, rec.State.Phase, rec.State.Step+1, rec.State.Weight)
	}
	tick := min(time.Second, c.Spec.Interval/2)
	for {
		var rec *Record
		err := retryTransient(ctx, func() (err error) {
			rec, err = store.Get(ctx, c.Spec.Apex)
			return err
		})
		if err != nil {
			return "", err
		}
		st := rec.State
		if st.SpecHash != c.Hash() || st.Name != c.Metadata.Name {
			return "", fmt.Errorf("%w: apex %s/%s now runs canary %q (spec %s)", ErrSpecChanged, ns, c.Spec.Apex, st.Name, st.SpecHash)
		}
		e.Gauges.observe(ns, c, st)
		switch {
		case st.Shifting:
			if err := retryTransient(ctx, func() error { return FinishShift(ctx, store, e.Router, rec) }); err != nil {
				return "", err
			}
			continue
		case st.Phase.Terminal():
			if err := retryTransient(ctx, func() error { return e.ensureWeights(ctx, store, rec) }); err != nil {
				return "", err
			}
			e.printf("canary %s %s at %d%%: %s", c.Metadata.Name, st.Phase, st.Weight, st.Message)
			return st.Phase, nil
		case st.Phase == PhasePaused:
			if err := e.sleep(ctx, tick); err != nil {
				return "", err
			}
			continue
		case st.Step < 0:
			if err := retryTransient(ctx, func() error { return e.begin(ctx, store, c, ns, rec) }); err != nil {
				return "", err
			}
			if err := e.sleep(ctx, tick); err != nil {
				return "", err
			}
			continue
		}
		now := e.now()
		if next := st.NextAnalysis(c); now.Before(next) {
			if err := e.sleep(ctx, min(next.Sub(now), tick)); err != nil {
				return "", err
			}
			continue
		}
		if err := retryTransient(ctx, func() error { return e.analyse(ctx, store, c, ns, rec, now) }); err != nil {
			return "", err
		}
	}
}

var errStale = errors.New("rollout changed while analysing")

// begin moves the first traffic once the canary Deployment is available and the metrics
// backend gave the counters' baseline.
func (e *Engine) begin(ctx context.Context, store *Store, c *Canary, ns string, rec *Record) error {
	now := e.now()
	st := rec.State
	why := ""
	var baseline Evidence
	if now.Sub(st.Started) >= c.Spec.Deadline {
		_, err := store.Update(ctx, c.Spec.Apex, func(r *Record) (*Entry, error) {
			if r.rv != rec.rv {
				return nil, errStale
			}
			r.State.Phase, r.State.Message = PhaseDeadlineExceeded, "deadline passed before any traffic moved"
			return &Entry{Time: now, Canary: st.Name, SpecHash: st.SpecHash, Event: "deadline", Actor: e.Actor, Step: -1, Phase: PhaseDeadlineExceeded, Reason: r.State.Message}, nil
		})
		return ignoreStale(err)
	}
	if err := DeploymentAvailable(ctx, e.Kube, ns, c.Spec.Canary.Deployment); err != nil {
		why = err.Error()
	} else if why = e.staleCounters(ctx, c, ns, st.Started); why == "" {
		tot, ok := Observe(ctx, e.Provider, c, ns, c.QueryWindow(0), time.Time{}).Totals()
		if !ok {
			why = "metrics backend down: cannot read the counters' baseline"
		}
		baseline = tot
	}
	if why != "" {
		if st.Message != why {
			e.printf("waiting before the first step: %s", why)
			_, err := store.Update(ctx, c.Spec.Apex, func(r *Record) (*Entry, error) {
				if r.rv != rec.rv {
					return nil, errStale
				}
				r.State.Message = why
				return &Entry{Time: now, Canary: st.Name, SpecHash: st.SpecHash, Event: "hold", Actor: e.Actor, Step: -1, Phase: st.Phase, Reason: why}, nil
			})
			return ignoreStale(err)
		}
		return nil
	}
	w := c.Steps()[0]
	_, err := store.Update(ctx, c.Spec.Apex, func(r *Record) (*Entry, error) {
		if r.rv != rec.rv {
			return nil, errStale
		}
		r.State.Begin(c, baseline, now)
		r.State.Shifting, r.State.Message = true, fmt.Sprintf("first step: %d%% to %s", w, c.Spec.Canary.Service)
		return &Entry{Time: now, Canary: st.Name, SpecHash: st.SpecHash, Event: "advance", Actor: e.Actor, Step: 0, WeightBefore: 0, WeightAfter: w,
			Phase: PhaseProgressing, Reason: r.State.Message}, nil
	})
	if err == nil {
		e.printf("step 1/%d: %d%% of traffic to %s", len(c.Steps()), w, c.Spec.Canary.Service)
	}
	return ignoreStale(err)
}

// staleCounters says why the counters cannot be the first step's baseline yet, or "" when
// they can. The backend lags the proxies by up to one scrape interval: a baseline read before
// a scrape newer than since would leave the requests served just before the rollout (by an
// earlier rollout of the same canary, rolled back a moment ago) to be counted in its first
// step. A workload without samples has served nothing, so its baseline is zero and fresh.
func (e *Engine) staleCounters(ctx context.Context, c *Canary, ns string, since time.Time) string {
	for _, d := range []string{c.Spec.Canary.Deployment, c.Spec.Stable.Deployment} {
		v, err := e.Provider.Query(ctx, metrics.LastScrapeQuery(metrics.Target{Namespace: ns, Deployment: d}), time.Time{})
		switch {
		case errors.Is(err, metrics.ErrNoData):
			continue
		case err != nil:
			return "metrics backend down: cannot read the counters' baseline"
		}
		if last := time.Unix(0, int64(v*1e9)); last.Before(since) {
			return fmt.Sprintf("waiting for a scrape of %s newer than the rollout's start (%s) before reading the baseline", d, since.Format("15:04:05"))
		}
	}
	return ""
}

func ignoreStale(err error) error {
	if errors.Is(err, errStale) {
		return nil
	}
	return err
}

// analyse runs one analysis and records its decision atomically with the state change.
func (e *Engine) analyse(ctx context.Context, store *Store, c *Canary, ns string, rec *Record, now time.Time) error {
	st := rec.State
	obs := Observe(ctx, e.Provider, c, ns, c.QueryWindow(now.Sub(st.StepStarted)), time.Time{})
	r := Judge(c, obs, st.Baseline, st.Prior)
	d := Decide(c, st, r, now)
	if d.Outcome == OutcomeAdvance || d.Outcome == OutcomePromote {
		if err := DeploymentAvailable(ctx, e.Kube, ns, c.Spec.Canary.Deployment); err != nil {
			d = Decision{Outcome: OutcomeHold, Weight: st.Weight, Phase: st.Phase, Reason: "analysis passed but " + err.Error()}
		}
	}
	before := st.Weight
	_, err := store.Update(ctx, c.Spec.Apex, func(cur *Record) (*Entry, error) {
		if cur.rv != rec.rv {
			// Someone promoted, paused or aborted meanwhile: decide again on the new state.
			return nil, errStale
		}
		step := cur.State.Step
		cur.State.Apply(d, r, now)
		cur.State.Shifting = cur.State.Weight != before
		return &Entry{Time: now, Canary: st.Name, SpecHash: st.SpecHash, Event: string(d.Outcome), Actor: e.Actor, Step: step,
			WeightBefore: before, WeightAfter: d.Weight, Phase: d.Phase, Verdict: r.Verdict, Checks: r.Checks, Reason: d.Reason}, nil
	})
	if errors.Is(err, errStale) {
		return nil
	}
	if err != nil {
		return err
	}
	e.printf("step %d/%d at %d%%: %s -> %s %d%%: %s", st.Step+1, len(c.Steps()), before, r.Verdict, d.Outcome, d.Weight, d.Reason)
	typ := corev1.EventTypeNormal
	if d.Outcome == OutcomeRollback || r.Verdict != VerdictPass {
		typ = corev1.EventTypeWarning
	}
	if d.Outcome != OutcomeHold || st.Message != d.Reason {
		e.event(ns, c, st, eventReason(d.Outcome), typ, fmt.Sprintf("%d%% -> %d%%: %s: %s", before, d.Weight, r.Verdict, d.Reason))
	}
	return nil
}

func eventReason(o Outcome) string {
	switch o {
	case OutcomeAdvance:
		return "Advanced"
	case OutcomePromote:
		return "Promoted"
	case OutcomeRollback:
		return "RolledBack"
	case OutcomeAwait:
		return "AwaitingApproval"
	}
	return "Held"
}

// FinishShift sets the split to the weight the state holds and clears the shifting mark. It is
// idempotent: a process killed between the decision and the write re-applies the same weights.
func FinishShift(ctx context.Context, store *Store, router split.Router, rec *Record) error {
	st, c := rec.State, rec.Spec
	w := int64(st.Weight)
	backends := []split.Backend{{Service: c.Spec.Stable.Service, Weight: 100 - w}, {Service: c.Spec.Canary.Service, Weight: w}}
	// During a rollout trafficctl owns the weights; every change is in the audit log.
	if _, err := router.SetWeights(ctx, store.ns, c.Spec.Apex, backends, split.SetOptions{Force: true}); err != nil {
		return fmt.Errorf("set weights of %s/%s to %s: %w", store.ns, c.Spec.Apex, split.FormatBackends(backends), err)
	}
	_, err := store.Update(ctx, c.Spec.Apex, func(cur *Record) (*Entry, error) {
		if cur.State.Weight == st.Weight && cur.State.Step == st.Step && cur.State.Phase == st.Phase {
			cur.State.Shifting = false
		}
		return nil, nil
	})
	return err
}

// ensureWeights re-applies a finished rollout's final weights when the split differs: a write
// of this engine that raced with an abort may have landed after the abort's.
func (e *Engine) ensureWeights(ctx context.Context, store *Store, rec *Record) error {
	if rec.State.Step < 0 {
		return nil // no traffic ever moved
	}
	cur, err := e.Router.Get(ctx, store.ns, rec.Spec.Spec.Apex)
	if err != nil && !errors.Is(err, split.ErrNotFound) {
		return fmt.Errorf("read the split of %s/%s: %w", store.ns, rec.Spec.Spec.Apex, err)
	}
	if err == nil && cur.Uniform {
		w := map[string]int64{}
		for _, b := range cur.Backends {
			w[b.Service] += b.Weight
		}
		st, sp := rec.State, rec.Spec.Spec
		var total int64
		for _, v := range w {
			total += v
		}
		if total > 0 && w[sp.Stable.Service]+w[sp.Canary.Service] == total && w[sp.Canary.Service]*100 == int64(st.Weight)*total {
			return nil
		}
	}
	return FinishShift(ctx, store, e.Router, rec)
}

// DeploymentAvailable reports, as an error, why Deployment ns/name cannot take traffic yet.
func DeploymentAvailable(ctx context.Context, k kubernetes.Interface, ns, name string) error {
	d, err := k.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get Deployment %s/%s: %w", ns, name, err)
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue && d.Status.AvailableReplicas > 0 {
			return nil
		}
	}
	return fmt.Errorf("deployment %s/%s is not available (%d of %d replicas available)", ns, name, d.Status.AvailableReplicas, d.Status.Replicas)
}

// event records a decision as a Kubernetes Event on the rollout's ConfigMap (see
// eventRecorder), through the recorder of the current Run if there is one.
func (e *Engine) event(ns string, c *Canary, st *State, reason, typ, msg string) {
	msg += " (log head " + shortHash(st.Head) + ")"
	if e.events == nil {
		emitEvent(e.Kube, ns, c.Spec.Apex, reason, typ, msg, e.Actor)
		return
	}
	e.events.emit(ns, c.Spec.Apex, reason, typ, msg)
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
