// Package metrics reads the numbers canary analysis decides on. One small Provider interface
// (in the style of Flagger's metric providers) has one implementation per backend, each in its
// own file; today that is Prometheus.
//
// A query has exactly one of three outcomes, which callers tell apart with errors.Is: a value,
// ErrNoData (the query ran but matched nothing, or the value is NaN), or ErrBackendDown (the
// backend could not be reached or answered with a server error). A bad PromQL expression is a
// fourth, configuration, outcome: ErrBadQuery. Keeping them apart is the point: "no traffic yet"
// and "Prometheus is down" must never look like "the canary is failing".
package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrNoData means the query ran but returned no series, or NaN (for example a ratio or a
	// quantile over zero requests).
	ErrNoData = errors.New("no data")
	// ErrBackendDown means the metrics backend could not be reached, timed out or answered with
	// a 5xx status.
	ErrBackendDown = errors.New("metrics backend down")
	// ErrBadQuery means the backend rejected the query itself (syntax error, wrong type): retrying
	// will not help; fix the query.
	ErrBadQuery = errors.New("bad query")
)

// Provider runs instant queries that return one number.
type Provider interface {
	// Query evaluates query at time at (the zero time means now) and returns its single value.
	Query(ctx context.Context, query string, at time.Time) (float64, error)
	// Check tells whether the backend answers at all; it returns an error wrapping ErrBackendDown
	// when it does not.
	Check(ctx context.Context) error
}

// Target names one workload whose inbound traffic is measured, as Linkerd's proxy labels it.
type Target struct {
	Namespace  string
	Deployment string
}

// Window formats d as a PromQL range, rounded up to whole seconds (at least 1s).
func Window(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return fmt.Sprintf("%ds", s)
}

func (t Target) selector(extra string) string {
	sel := fmt.Sprintf(`namespace=%q,deployment=%q,direction="inbound"`, t.Namespace, t.Deployment)
	if extra != "" {
		sel += "," + extra
	}
	return sel
}

// RequestsQuery is the number of inbound responses t has served since its proxies started
// (Linkerd's response_total counter, summed over pods). Canary analysis takes the difference
// of two readings, at the step's start and now: unlike increase() over a short window, that
// needs only one new scrape, so a broken canary is seen within one scrape interval.
func RequestsQuery(t Target) string {
	return fmt.Sprintf(`sum(response_total{%s})`, t.selector(""))
}

// LastScrapeQuery is the Unix time, in seconds, of the newest sample of t's request counter
// that the backend holds. Readings taken before that time are not in the counters yet: canary
// analysis waits for a scrape newer than the rollout's start before it takes a baseline, so
// that requests served just before (by a rollout that was rolled back a moment ago, say) are
// not counted against the new one.
func LastScrapeQuery(t Target) string {
	return fmt.Sprintf(`max(timestamp(response_total{%s}))`, t.selector(""))
}

// FailuresQuery is the number of inbound responses of t that Linkerd classified as failures.
// When t served requests but none failed, Linkerd exports no failure series at all; the `or`
// arm turns that into 0 while leaving "no requests at all" empty (ErrNoData).
func FailuresQuery(t Target) string {
	return fmt.Sprintf(`sum(response_total{%s}) or on() (0 * sum(response_total{%s}))`,
		t.selector(`classification="failure"`), t.selector(""))
}

// LatencyQuery is the q-quantile (0.99 for p99) of t's inbound response latency in milliseconds
// over window (Linkerd's response_latency_ms histogram). It is NaN (ErrNoData) without traffic.
func LatencyQuery(t Target, q float64, window time.Duration) string {
	return fmt.Sprintf(`histogram_quantile(%g, sum(rate(response_latency_ms_bucket{%s}[%s])) by (le))`,
		q, t.selector(""), Window(window))
}

// Expand fills the placeholders of a custom PromQL template: {{namespace}}, {{deployment}}
// and {{window}}. Custom queries use it so that one template serves the canary and the stable
// workload over the same window.
func Expand(tmpl string, t Target, window time.Duration) string {
	return strings.NewReplacer(
		"{{namespace}}", t.Namespace,
		"{{deployment}}", t.Deployment,
		"{{window}}", Window(window),
	).Replace(tmpl)
}

// LinkerdLatencyBucketsMS are the bucket bounds (milliseconds) of the response_latency_ms
// histogram that Linkerd's proxies export; the sandbox's proxy and the test metrics simulator
// export theirs with the same bounds so that queries written for Linkerd read them unchanged.
var LinkerdLatencyBucketsMS = []float64{1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000}
