package canary

import (
	"math"
	"testing"
	"time"
)

// FuzzDecideJudge runs the policy on spec-shaped input: any spec Parse accepts, any counters and
// check values the backend could return (NaN and ±Inf included), at any step. Judge and Decide
// must not panic, weights stay within 0..100, only a passing analysis promotes, and the audit
// entry of the decision encodes.
func FuzzDecideJudge(f *testing.F) {
	seeds := []string{"", "  steps: [100]\n", "  stepWeight: 100\n", "  gates: [100]\n", "  steps: [100]\n  gates: [100]\n",
		"  steps: [50, 100]\n  gates: [50, 100]\n",
		"  metrics:\n  - {name: l, type: latency, max: 100, maxRatio: 2}\n  - {name: c, type: custom, query: up, min: 0, max: 1}\n"}
	for _, s := range seeds {
		f.Add([]byte(minimal+s), 0, 100.0, 1.0, 100.0, 0.0, 5.0, math.Inf(1))
		f.Add([]byte(minimal+s), 3, math.NaN(), math.NaN(), 1e300, -1.0, math.NaN(), math.NaN())
	}
	f.Fuzz(func(t *testing.T, spec []byte, step int, canReq, canFail, stbReq, stbFail, latency, custom float64) {
		c, err := Parse(spec)
		if err != nil {
			return
		}
		steps := c.Steps()
		step = ((step % len(steps)) + len(steps)) % len(steps)
		epoch := time.Unix(1000, 0)
		s := NewState(c, epoch)
		s.Begin(c, Evidence{}, epoch)
		s.Step, s.Weight = step, steps[step]
		o := Observation{
			CanaryRequests: Reading{Value: canReq}, CanaryFailures: Reading{Value: canFail},
			StableRequests: Reading{Value: stbReq}, StableFailures: Reading{Value: stbFail},
			Canary: map[string]Reading{}, Stable: map[string]Reading{},
		}
		for _, m := range c.Spec.Metrics {
			o.Canary[m.Name] = Reading{Value: latency}
			o.Stable[m.Name] = Reading{Value: custom}
			if m.Type == MetricCustom {
				o.Canary[m.Name] = Reading{Value: custom}
			}
		}
		r := Judge(c, o, Evidence{}, Evidence{})
		d := Decide(c, s, r, epoch.Add(c.Spec.Interval))
		if d.Weight < 0 || d.Weight > 100 {
			t.Fatalf("weight %d", d.Weight)
		}
		if d.Outcome == OutcomePromote && r.Verdict != VerdictPass {
			t.Fatalf("promoted on %s", r.Verdict)
		}
		var rec Record
		rec.State = s
		rec.append(Entry{Event: string(d.Outcome), Checks: r.Checks, Reason: d.Reason})
		if len(rec.log) < 3 {
			t.Fatalf("empty audit line for checks %+v", r.Checks)
		}
		s.Apply(d, r, epoch.Add(c.Spec.Interval))
	})
}
