package canary

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/trafficctl/trafficctl/pkg/metrics"
)

// Verdict is the outcome of one analysis.
type Verdict string

// Verdicts. Pending is not a verdict on the canary: the checks found nothing wrong but the
// step has not seen enough canary requests to pass yet.
const (
	VerdictPass        Verdict = "pass"
	VerdictPending     Verdict = "pending"
	VerdictBad         Verdict = "bad"
	VerdictNoData      Verdict = "no-data"
	VerdictBackendDown Verdict = "backend-down"
)

// Sequential test parameters. Alpha bounds the chance that a canary as good as the stable
// version is rolled back by one test; it is small because a rollout runs the test at every
// analysis. Beta is the accepted chance of missing a canary exactly at the threshold.
var (
	DefaultAlpha = 0.001
	DefaultBeta  = 0.1
	// MinSamples is the minimum-sample guard: no canary is judged bad on fewer requests in
	// the current step, whatever the test says.
	MinSamples = 10.0
)

// Counts are requests and failures over a window.
type Counts struct {
	Requests float64 `json:"requests"`
	Failures float64 `json:"failures"`
}

// Add sums counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{Requests: c.Requests + o.Requests, Failures: c.Failures + o.Failures}
}

// Evidence is what the success-rate test has seen of both versions.
type Evidence struct {
	Canary Counts `json:"canary"`
	Stable Counts `json:"stable"`
}

// Add sums evidence.
func (e Evidence) Add(o Evidence) Evidence {
	return Evidence{Canary: e.Canary.Add(o.Canary), Stable: e.Stable.Add(o.Stable)}
}

// Reading is one query's outcome: a value, or an error matching metrics.ErrNoData,
// metrics.ErrBackendDown or metrics.ErrBadQuery.
type Reading struct {
	Query string
	Value float64
	Err   error
}

// Observation holds the readings of one analysis: the request and failure counters of both
// versions (totals since their proxies started), and per metric name the canary's and the
// stable version's value over Window.
type Observation struct {
	Window         time.Duration
	CanaryRequests Reading
	CanaryFailures Reading
	StableRequests Reading
	StableFailures Reading
	// Canary and Stable are keyed by Metric.Name (latency and custom metrics only).
	Canary map[string]Reading
	Stable map[string]Reading
}

// Totals returns the observed counters, nil readings as zero (a version that never served a
// request has no series yet). It reports false when a counter could not be read.
func (o Observation) Totals() (Evidence, bool) {
	ok := true
	v := func(r Reading) float64 {
		if r.Err != nil {
			if !isNoData(r.Err) {
				ok = false
			}
			return 0
		}
		return r.Value
	}
	e := Evidence{
		Canary: Counts{Requests: v(o.CanaryRequests), Failures: v(o.CanaryFailures)},
		Stable: Counts{Requests: v(o.StableRequests), Failures: v(o.StableFailures)},
	}
	return e, ok
}

// Since returns the counts between a baseline reading of the counters and this one. A counter
// below its baseline was reset (a pod restarted): the counts since the reset are used, which
// undercounts but never invents requests.
func (e Evidence) Since(base Evidence) Evidence {
	d := func(now, then float64) float64 {
		if now < then {
			return now
		}
		return now - then
	}
	return Evidence{
		Canary: Counts{Requests: d(e.Canary.Requests, base.Canary.Requests), Failures: d(e.Canary.Failures, base.Canary.Failures)},
		Stable: Counts{Requests: d(e.Stable.Requests, base.Stable.Requests), Failures: d(e.Stable.Failures, base.Stable.Failures)},
	}
}

// Check is one comparison as the audit log records it.
type Check struct {
	Metric    string   `json:"metric"`
	Query     string   `json:"query,omitempty"`
	Value     *float64 `json:"value,omitempty"`
	Threshold string   `json:"threshold"`
	Verdict   Verdict  `json:"verdict"`
	Detail    string   `json:"detail,omitempty"`
}

// Result is the outcome of one analysis.
type Result struct {
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
	Checks  []Check `json:"checks"`
	// Totals are the counters read; they become the next step's baseline when the step passes.
	Totals Evidence `json:"totals"`
	// Step is the evidence since the step's baseline, added to the rollout's prior evidence
	// when the step passes.
	Step Evidence `json:"step"`
	// LLR is the sequential test's log-likelihood ratio over all the rollout's evidence.
	LLR float64 `json:"llr"`
}

// Observe runs the spec's queries against p for the canary and stable Deployments in ns; rate
// and quantile queries cover window, ending at at (zero: now).
func Observe(ctx context.Context, p metrics.Provider, c *Canary, ns string, window time.Duration, at time.Time) Observation {
	can := metrics.Target{Namespace: ns, Deployment: c.Spec.Canary.Deployment}
	stb := metrics.Target{Namespace: ns, Deployment: c.Spec.Stable.Deployment}
	read := func(q string) Reading {
		v, err := p.Query(ctx, q, at)
		return Reading{Query: q, Value: v, Err: err}
	}
	o := Observation{
		Window:         window,
		CanaryRequests: read(metrics.RequestsQuery(can)),
		CanaryFailures: read(metrics.FailuresQuery(can)),
		StableRequests: read(metrics.RequestsQuery(stb)),
		StableFailures: read(metrics.FailuresQuery(stb)),
		Canary:         map[string]Reading{},
		Stable:         map[string]Reading{},
	}
	for _, m := range c.Spec.Metrics {
		switch m.Type {
		case MetricLatency:
			o.Canary[m.Name] = read(metrics.LatencyQuery(can, m.Quantile, window))
			if m.MaxRatio != 0 {
				o.Stable[m.Name] = read(metrics.LatencyQuery(stb, m.Quantile, window))
			}
		case MetricCustom:
			o.Canary[m.Name] = read(metrics.Expand(m.Query, can, window))
		}
	}
	return o
}

// Judge turns an observation into a verdict. baseline holds the counters at the step's start;
// prior is the evidence of the rollout's completed steps. The sequential test runs on prior
// plus this step, so evidence accumulates across steps instead of starting over at each weight.
//
// Precedence: bad beats backend-down beats no-data beats pending beats pass. A canary is never
// judged bad on fewer than MinSamples requests in the step, and never passes a step on fewer
// than the spec's minRequests.
func Judge(c *Canary, o Observation, baseline, prior Evidence) Result {
	j := &judgement{c: c, o: o, worst: VerdictPass}
	j.counts(baseline)
	for _, m := range c.Spec.Metrics {
		switch m.Type {
		case MetricSuccessRate:
			if j.countsOK {
				j.successRate(m, prior)
			}
		case MetricLatency:
			j.latency(m)
		case MetricCustom:
			j.custom(m)
		}
	}
	j.r.Verdict = j.worst
	if j.worst == VerdictPass {
		j.r.Reason = fmt.Sprintf("all checks passed over %.0f canary requests", j.canN)
	}
	return j.r
}

// verdictRank orders verdicts by precedence: the worst check decides the step.
var verdictRank = map[Verdict]int{VerdictPass: 0, VerdictPending: 1, VerdictNoData: 2, VerdictBackendDown: 3, VerdictBad: 4}

// judgement is Judge in progress: the result so far, its worst verdict, and the step's canary
// request count that every metric's check weighs.
type judgement struct {
	c     *Canary
	o     Observation
	r     Result
	worst Verdict
	// canN is the canary requests in the step; countsOK tells whether the counters were read
	// and the canary had traffic.
	canN     float64
	countsOK bool
}

// note adds a check; the worst check so far gives the result its reason.
func (j *judgement) note(ch Check) {
	j.r.Checks = append(j.r.Checks, ch)
	if verdictRank[ch.Verdict] > verdictRank[j.worst] {
		j.worst = ch.Verdict
		j.r.Reason = ch.Metric + ": " + ch.Detail
	}
}

// counts reads the request counters, which gate everything else: without canary traffic there
// is nothing to judge.
func (j *judgement) counts(baseline Evidence) {
	o := j.o
	totals, countsOK := o.Totals()
	for _, rd := range []struct {
		name string
		r    Reading
	}{{"canary requests", o.CanaryRequests}, {"canary failures", o.CanaryFailures}, {"stable requests", o.StableRequests}, {"stable failures", o.StableFailures}} {
		if rd.r.Err != nil && !isNoData(rd.r.Err) {
			j.note(Check{Metric: rd.name, Query: rd.r.Query, Threshold: "a value", Verdict: errVerdict(rd.r.Err), Detail: rd.r.Err.Error()})
		}
	}
	if countsOK {
		j.r.Totals = totals
		j.r.Step = totals.Since(baseline)
		j.canN = j.r.Step.Canary.Requests
		if j.canN <= 0 {
			j.note(Check{Metric: "canary requests", Query: o.CanaryRequests.Query, Value: ptr(j.canN), Threshold: ">= 1", Verdict: VerdictNoData,
				Detail: "the canary received no requests since the step started"})
			countsOK = false
		}
	}
	j.countsOK = countsOK
}

// successRate runs the sequential test on prior plus this step's evidence.
func (j *judgement) successRate(m Metric, prior Evidence) {
	r, canN := &j.r, j.canN
	total := prior.Add(r.Step)
	t := NewTest(*m.Min, total.Stable)
	r.LLR = t.LLR(total.Canary)
	sr := 100 * (1 - safeDiv(r.Step.Canary.Failures, canN))
	ch := Check{Metric: m.Name, Query: j.o.CanaryFailures.Query, Value: ptr(sr),
		Threshold: fmt.Sprintf(">= %g%% and not worse than stable (SPRT p0=%.4f p1=%.4f, LLR %.2f < %.2f)", *m.Min, t.P0, t.P1, r.LLR, t.Upper()),
		Verdict:   VerdictPass}
	switch {
	case r.LLR >= t.Upper() && canN >= MinSamples:
		ch.Verdict = VerdictBad
		ch.Detail = fmt.Sprintf("canary failed %.0f of %.0f requests (%.2f%% success) vs stable %.2f%%: error rate above %.2f%% with %.1f%% confidence",
			total.Canary.Failures, total.Canary.Requests, 100*(1-safeDiv(total.Canary.Failures, total.Canary.Requests)),
			100*(1-safeDiv(total.Stable.Failures, total.Stable.Requests)), 100*t.P1, 100*(1-DefaultAlpha))
	case canN < float64(j.c.Spec.MinRequests):
		ch.Verdict = VerdictPending
		ch.Detail = fmt.Sprintf("%.0f of %d canary requests needed this step", canN, j.c.Spec.MinRequests)
	default:
		ch.Detail = fmt.Sprintf("%.2f%% success over %.0f canary requests", sr, canN)
	}
	j.note(ch)
}

// latency checks the canary's quantile against max and against maxRatio times stable's.
func (j *judgement) latency(m Metric) {
	rc := j.o.Canary[m.Name]
	if rc.Err != nil {
		j.note(Check{Metric: m.Name, Query: rc.Query, Threshold: latencyThreshold(m), Verdict: errVerdict(rc.Err), Detail: rc.Err.Error()})
		return
	}
	ch := Check{Metric: m.Name, Query: rc.Query, Value: ptr(rc.Value), Threshold: latencyThreshold(m), Verdict: VerdictPass,
		Detail: fmt.Sprintf("p%g %.1f ms", 100*m.Quantile, rc.Value)}
	if m.Max != nil && rc.Value > *m.Max {
		ch.Verdict, ch.Detail = VerdictBad, fmt.Sprintf("p%g %.1f ms above %g ms", 100*m.Quantile, rc.Value, *m.Max)
	}
	if m.MaxRatio != 0 && ch.Verdict == VerdictPass {
		rs := j.o.Stable[m.Name]
		switch {
		case rs.Err != nil:
			ch.Verdict, ch.Detail = errVerdict(rs.Err), "stable: "+rs.Err.Error()
		case rc.Value > rs.Value*m.MaxRatio:
			ch.Verdict, ch.Detail = VerdictBad, fmt.Sprintf("p%g %.1f ms is %.2fx stable's %.1f ms (max %gx)", 100*m.Quantile, rc.Value, rc.Value/rs.Value, rs.Value, m.MaxRatio)
		default:
			ch.Detail += fmt.Sprintf(", stable %.1f ms", rs.Value)
		}
	}
	j.note(j.notYetBad(ch))
}

// custom checks a custom query's value against its bounds.
func (j *judgement) custom(m Metric) {
	rc := j.o.Canary[m.Name]
	th := boundsThreshold(m)
	if rc.Err != nil {
		j.note(Check{Metric: m.Name, Query: rc.Query, Threshold: th, Verdict: errVerdict(rc.Err), Detail: rc.Err.Error()})
		return
	}
	ch := Check{Metric: m.Name, Query: rc.Query, Value: ptr(rc.Value), Threshold: th, Verdict: VerdictPass, Detail: fmt.Sprintf("%g", rc.Value)}
	if (m.Min != nil && rc.Value < *m.Min) || (m.Max != nil && rc.Value > *m.Max) {
		ch.Verdict, ch.Detail = VerdictBad, fmt.Sprintf("%g outside %s", rc.Value, th)
	}
	j.note(j.notYetBad(ch))
}

// notYetBad holds a bad check as pending while the step has fewer than MinSamples canary
// requests: a handful of slow or odd requests is not a regression yet.
func (j *judgement) notYetBad(ch Check) Check {
	if ch.Verdict == VerdictBad && j.canN < MinSamples {
		ch.Verdict, ch.Detail = VerdictPending, ch.Detail+fmt.Sprintf(" (only %.0f canary requests: waiting for %g)", j.canN, MinSamples)
	}
	return ch
}

func isNoData(err error) bool { return errors.Is(err, metrics.ErrNoData) }

// errVerdict maps a query error onto a verdict. A bad query is reported as no data: it yields
// no number, and the run's preflight rejects bad queries before any traffic moves.
func errVerdict(err error) Verdict {
	if errors.Is(err, metrics.ErrBackendDown) {
		return VerdictBackendDown
	}
	return VerdictNoData
}

func latencyThreshold(m Metric) string {
	s := ""
	if m.Max != nil {
		s = fmt.Sprintf("<= %g ms", *m.Max)
	}
	if m.MaxRatio != 0 {
		if s != "" {
			s += " and "
		}
		s += fmt.Sprintf("<= %gx stable", m.MaxRatio)
	}
	return s
}

func boundsThreshold(m Metric) string {
	switch {
	case m.Min != nil && m.Max != nil:
		return fmt.Sprintf("within [%g, %g]", *m.Min, *m.Max)
	case m.Min != nil:
		return fmt.Sprintf(">= %g", *m.Min)
	default:
		return fmt.Sprintf("<= %g", *m.Max)
	}
}

// Test is Wald's sequential probability ratio test on the canary's failures: H0, the canary
// fails like the stable version (P0), against H1, it fails at the threshold rate or at twice
// the stable rate, whichever is higher (P1).
type Test struct {
	P0, P1      float64
	Alpha, Beta float64
}

// NewTest builds the test for a minimum success rate (percent) given the stable version's
// counts over the same windows. P0 is the stable error rate, floored at a tenth of the
// threshold so that a stable version with no failures yet does not make a single canary failure
// damning; P1 is at least twice P0, so a canary no worse than a failing stable version passes.
func NewTest(minSuccess float64, stable Counts) Test {
	p1 := 1 - minSuccess/100
	p0 := p1 / 10
	if stable.Requests > 0 {
		p0 = math.Max(p0, stable.Failures/stable.Requests)
	}
	p1 = math.Max(p1, 2*p0)
	if p1 >= 1 {
		p1 = 0.999999
		p0 = math.Min(p0, p1/2)
	}
	return Test{P0: p0, P1: p1, Alpha: DefaultAlpha, Beta: DefaultBeta}
}

// LLR is the log-likelihood ratio of H1 over H0 for the canary's counts.
func (t Test) LLR(c Counts) float64 {
	ok := c.Requests - c.Failures
	if ok < 0 {
		ok = 0
	}
	return c.Failures*math.Log(t.P1/t.P0) + ok*math.Log((1-t.P1)/(1-t.P0))
}

// Upper is the boundary past which H1 (the canary is worse) is accepted.
func (t Test) Upper() float64 { return math.Log((1 - t.Beta) / t.Alpha) }

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ptr(f float64) *float64 { return &f }
