package canary

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/pkg/metrics"
)

func specWith(t *testing.T, extra string) *Canary {
	t.Helper()
	c, err := Parse([]byte(minimal + extra))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func val(v float64) Reading { return Reading{Value: v} }

func errReading(err error) Reading { return Reading{Err: fmt.Errorf("query: %w", err)} }

// counts builds an observation whose counters moved by the given amounts since a zero baseline.
func counts(canN, canF, stbN, stbF float64) Observation {
	return Observation{CanaryRequests: val(canN), CanaryFailures: val(canF), StableRequests: val(stbN), StableFailures: val(stbF),
		Canary: map[string]Reading{}, Stable: map[string]Reading{}}
}

const latencyMetrics = `  metrics:
  - {name: sr, type: success-rate, min: 99}
  - {name: p99, type: latency, max: 500, maxRatio: 1.5}
  - {name: errs, type: custom, query: 'x{d="{{deployment}}"}', max: 3}
`

func TestJudge(t *testing.T) {
	base := specWith(t, "")
	lat := specWith(t, latencyMetrics)
	withLatency := func(o Observation, can, stb, custom Reading) Observation {
		o.Canary["p99"], o.Stable["p99"], o.Canary["errs"] = can, stb, custom
		return o
	}
	tests := []struct {
		name        string
		c           *Canary
		o           Observation
		prior       Evidence
		want        Verdict
		wantInCause string
	}{
		{name: "healthy", c: base, o: counts(200, 0, 4000, 4), want: VerdictPass},
		{name: "healthy with stable-like failures", c: base, o: counts(500, 1, 9500, 10), want: VerdictPass},
		{name: "not enough requests yet", c: base, o: counts(20, 0, 400, 0), want: VerdictPending, wantInCause: "20 of 50"},
		{name: "fully broken after 10 requests", c: base, o: counts(10, 10, 200, 0), want: VerdictBad, wantInCause: "failed 10 of 10"},
		{name: "guard: 5 failures of 5 is too few", c: base, o: counts(5, 5, 100, 0), want: VerdictPending},
		{name: "5% broken", c: base, o: counts(200, 10, 4000, 4), want: VerdictBad},
		{name: "as bad as a failing stable", c: base, o: counts(200, 10, 4000, 200), want: VerdictPass},
		{name: "evidence accumulates across steps", c: base, o: counts(50, 2, 1000, 1), prior: Evidence{Canary: Counts{100, 5}, Stable: Counts{2000, 2}}, want: VerdictBad},
		{name: "no canary traffic", c: base, o: counts(0, 0, 1000, 1), want: VerdictNoData},
		{name: "canary never served", c: base, o: Observation{CanaryRequests: errReading(metrics.ErrNoData), CanaryFailures: errReading(metrics.ErrNoData),
			StableRequests: val(100), StableFailures: val(0)}, want: VerdictNoData},
		{name: "backend down", c: base, o: Observation{CanaryRequests: errReading(metrics.ErrBackendDown), CanaryFailures: errReading(metrics.ErrBackendDown),
			StableRequests: errReading(metrics.ErrBackendDown), StableFailures: errReading(metrics.ErrBackendDown)}, want: VerdictBackendDown},
		{name: "latency fine", c: lat, o: withLatency(counts(200, 0, 4000, 0), val(120), val(100), val(0)), want: VerdictPass},
		{name: "latency above max", c: lat, o: withLatency(counts(200, 0, 4000, 0), val(800), val(700), val(0)), want: VerdictBad, wantInCause: "above 500 ms"},
		{name: "latency vs stable", c: lat, o: withLatency(counts(200, 0, 4000, 0), val(300), val(100), val(0)), want: VerdictBad, wantInCause: "3.00x stable"},
		{name: "slow but few samples", c: lat, o: withLatency(counts(3, 0, 60, 0), val(900), val(100), val(0)), want: VerdictPending},
		{name: "latency no data", c: lat, o: withLatency(counts(200, 0, 4000, 0), errReading(metrics.ErrNoData), val(100), val(0)), want: VerdictNoData},
		{name: "custom above max", c: lat, o: withLatency(counts(200, 0, 4000, 0), val(100), val(100), val(9)), want: VerdictBad, wantInCause: "errs: 9 outside <= 3"},
		{name: "bad beats backend down", c: lat, o: withLatency(counts(200, 0, 4000, 0), val(900), val(100), errReading(metrics.ErrBackendDown)), want: VerdictBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Judge(tt.c, tt.o, Evidence{}, tt.prior)
			if r.Verdict != tt.want {
				t.Fatalf("verdict %s (%s), want %s; checks %+v", r.Verdict, r.Reason, tt.want, r.Checks)
			}
			if !strings.Contains(r.Reason, tt.wantInCause) {
				t.Errorf("reason %q does not contain %q", r.Reason, tt.wantInCause)
			}
			if len(r.Checks) == 0 {
				t.Error("no checks recorded")
			}
		})
	}
}

func TestSince(t *testing.T) {
	base := Evidence{Canary: Counts{100, 10}, Stable: Counts{1000, 1}}
	now := Evidence{Canary: Counts{40, 2}, Stable: Counts{1500, 3}} // canary pod restarted
	got := now.Since(base)
	want := Evidence{Canary: Counts{40, 2}, Stable: Counts{500, 2}}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestDecide(t *testing.T) {
	epoch := time.Unix(1000, 0)
	pass := Result{Verdict: VerdictPass, Reason: "ok"}
	tests := []struct {
		name      string
		extra     string
		step      int
		approved  []Approval
		r         Result
		at        time.Duration
		want      Outcome
		wantPhase Phase
		wantW     int
	}{
		{name: "advance", step: 0, r: pass, want: OutcomeAdvance, wantPhase: PhaseProgressing, wantW: 10},
		{name: "promote after the last analysed step", step: 3, r: pass, want: OutcomePromote, wantPhase: PhasePromoted, wantW: 100},
		{name: "bad rolls back", step: 2, r: Result{Verdict: VerdictBad}, want: OutcomeRollback, wantPhase: PhaseRolledBack},
		{name: "pending holds", step: 1, r: Result{Verdict: VerdictPending}, want: OutcomeHold, wantPhase: PhaseProgressing, wantW: 10},
		{name: "no data holds", step: 1, r: Result{Verdict: VerdictNoData}, want: OutcomeHold, wantPhase: PhaseProgressing, wantW: 10},
		{name: "no data rolls back when asked", extra: "  onNoData: rollback\n", step: 1, r: Result{Verdict: VerdictNoData}, want: OutcomeRollback, wantPhase: PhaseRolledBack},
		{name: "backend down holds, never promotes", step: 3, r: Result{Verdict: VerdictBackendDown}, want: OutcomeHold, wantPhase: PhaseProgressing, wantW: 50},
		{name: "backend down rolls back when asked", extra: "  onBackendDown: rollback\n", step: 1, r: Result{Verdict: VerdictBackendDown}, want: OutcomeRollback, wantPhase: PhaseRolledBack},
		{name: "deadline", step: 1, r: Result{Verdict: VerdictNoData}, at: time.Hour, want: OutcomeRollback, wantPhase: PhaseDeadlineExceeded},
		{name: "gate waits", extra: "  gates: [25]\n", step: 2, r: pass, want: OutcomeAwait, wantPhase: PhaseAwaitingApproval, wantW: 25},
		{name: "one step (steps: [100]) promotes", extra: "  steps: [100]\n", step: 0, r: pass, want: OutcomePromote, wantPhase: PhasePromoted, wantW: 100},
		{name: "one step (stepWeight: 100) promotes", extra: "  stepWeight: 100\n", step: 0, r: pass, want: OutcomePromote, wantPhase: PhasePromoted, wantW: 100},
		{name: "one step holds while pending", extra: "  steps: [100]\n", step: 0, r: Result{Verdict: VerdictPending}, want: OutcomeHold, wantPhase: PhaseProgressing, wantW: 100},
		{name: "gate at 100 waits before promotion", extra: "  gates: [100]\n", step: 3, r: pass, want: OutcomeAwait, wantPhase: PhaseAwaitingApproval, wantW: 50},
		{name: "approved gate at 100 promotes", extra: "  gates: [100]\n", step: 3, approved: []Approval{{Weight: 100, By: "alice"}}, r: pass, want: OutcomePromote, wantPhase: PhasePromoted, wantW: 100},
		{name: "gates at 50 and 100: 50 first", extra: "  gates: [50, 100]\n", step: 3, r: pass, want: OutcomeAwait, wantPhase: PhaseAwaitingApproval, wantW: 50},
		{name: "gates at 50 and 100: then 100", extra: "  gates: [50, 100]\n", step: 3, approved: []Approval{{Weight: 50, By: "alice"}}, r: pass, want: OutcomeAwait, wantPhase: PhaseAwaitingApproval, wantW: 50},
		{name: "one step gated", extra: "  steps: [100]\n  gates: [100]\n", step: 0, r: pass, want: OutcomeAwait, wantPhase: PhaseAwaitingApproval, wantW: 100},
		{name: "approved gate advances", extra: "  gates: [25]\n", step: 2, approved: []Approval{{Weight: 25, By: "alice"}}, r: pass, want: OutcomeAdvance, wantPhase: PhaseProgressing, wantW: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := specWith(t, tt.extra)
			s := NewState(c, epoch)
			s.Begin(c, Evidence{}, epoch)
			s.Step, s.Weight, s.Approved = tt.step, c.Steps()[tt.step], tt.approved
			d := Decide(c, s, tt.r, epoch.Add(tt.at))
			if d.Outcome != tt.want || d.Phase != tt.wantPhase || d.Weight != tt.wantW {
				t.Fatalf("decision %+v, want %s %s weight %d", d, tt.want, tt.wantPhase, tt.wantW)
			}
			s.Apply(d, tt.r, epoch.Add(tt.at))
			if s.Weight != tt.wantW || s.Phase != tt.wantPhase {
				t.Fatalf("state after apply %+v", s)
			}
		})
	}
}
