package load

import (
	"fmt"
	"math"
	"sort"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Histogram bounds, in microseconds: 1 µs to one hour with three significant digits keeps each
// histogram near 200 KiB whatever the number of samples.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
	// Series buckets use two digits: there are up to maxIntervals of them.
	seriesDigits = 2
	maxIntervals = 512
)

func newHist(digits int) *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, digits)
}

func record(h *hdrhistogram.Histogram, d time.Duration) {
	us := max(int64(d/time.Microsecond), histLowest)
	_ = h.RecordValue(min(us, histHighest))
}

// Latencies summarises a latency histogram; durations are nanoseconds in JSON, as in vegeta's
// metrics.
type Latencies struct {
	Mean  time.Duration `json:"mean"`
	P50   time.Duration `json:"50th"`
	P90   time.Duration `json:"90th"`
	P95   time.Duration `json:"95th"`
	P99   time.Duration `json:"99th"`
	P999  time.Duration `json:"99.9th"`
	Max   time.Duration `json:"max"`
	Min   time.Duration `json:"min"`
	Count int64         `json:"count"`
}

func summarize(h *hdrhistogram.Histogram) Latencies {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if h.TotalCount() == 0 {
		return Latencies{}
	}
	return Latencies{
		Mean:  time.Duration(h.Mean() * float64(time.Microsecond)),
		P50:   us(h.ValueAtQuantile(50)),
		P90:   us(h.ValueAtQuantile(90)),
		P95:   us(h.ValueAtQuantile(95)),
		P99:   us(h.ValueAtQuantile(99)),
		P999:  us(h.ValueAtQuantile(99.9)),
		Max:   us(h.Max()),
		Min:   us(h.Min()),
		Count: h.TotalCount(),
	}
}

// Interval is one point of the latency-over-time series.
type Interval struct {
	// Offset is the start of the interval from the series' start (the first intended send).
	Offset    time.Duration `json:"offset"`
	Requests  int64         `json:"requests"`
	Errors    int64         `json:"errors"`
	P50       time.Duration `json:"50th"`
	P99       time.Duration `json:"99th"`
	Corrected time.Duration `json:"corrected_99th"`
	// RawHDR and CorrectedHDR are the interval's histograms in HdrHistogram's compressed
	// encoding, so that merged reports keep latency over time with true percentiles.
	RawHDR       string `json:"raw_hdr,omitempty"`
	CorrectedHDR string `json:"corrected_hdr,omitempty"`
}

type interval struct {
	requests, errors int64
	raw, corrected   *hdrhistogram.Histogram
}

func newInterval() interval {
	return interval{raw: newHist(seriesDigits), corrected: newHist(seriesDigits)}
}

func (iv *interval) merge(o interval) {
	iv.requests += o.requests
	iv.errors += o.errors
	iv.raw.Merge(o.raw)
	iv.corrected.Merge(o.corrected)
}

// point summarises the interval that starts at off.
func (iv interval) point(off time.Duration) Interval {
	p := Interval{
		Offset:    off,
		Requests:  iv.requests,
		Errors:    iv.errors,
		P50:       time.Duration(iv.raw.ValueAtQuantile(50)) * time.Microsecond,
		P99:       time.Duration(iv.raw.ValueAtQuantile(99)) * time.Microsecond,
		Corrected: time.Duration(iv.corrected.ValueAtQuantile(99)) * time.Microsecond,
	}
	if b, err := iv.raw.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		p.RawHDR = string(b)
	}
	if b, err := iv.corrected.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		p.CorrectedHDR = string(b)
	}
	return p
}

// Recorder accumulates hits into a Report in constant memory: vegeta's metrics (t-digest), two
// HDR histograms (raw and corrected) and a latency-over-time series that halves its resolution
// whenever it would pass maxIntervals. It is not safe for concurrent use.
type Recorder struct {
	metrics       vegeta.Metrics
	raw           *hdrhistogram.Histogram
	corrected     *hdrhistogram.Histogram
	lateThreshold time.Duration
	late          uint64
	maxLag        time.Duration
	first, last   time.Time
	step          time.Duration
	// origin is the wall-clock start of the series: the intended time of the first hit added,
	// or set beforehand when the earliest hit is known (results files).
	origin time.Time
	series []interval
}

// NewRecorder returns a Recorder counting sends later than lateThreshold as late, with a series
// resolution of step (at least one second; it coarsens itself on long runs). A step of 0 keeps
// no series: breakdowns (per stage, per target) do without one.
func NewRecorder(lateThreshold, step time.Duration) *Recorder {
	r := &Recorder{
		raw:           newHist(histDigits),
		corrected:     newHist(histDigits),
		lateThreshold: lateThreshold,
	}
	if step > 0 {
		r.step = max(step, time.Second)
	}
	return r
}

// StepFor is the series resolution for a run of du: about 300 points, at least one second.
func StepFor(du time.Duration) time.Duration {
	return max((du / 300).Truncate(time.Second), time.Second)
}

// Add records one hit.
func (r *Recorder) Add(h *Hit) {
	r.metrics.Add(&h.Result)
	record(r.raw, h.Latency)
	corrected := h.Corrected()
	record(r.corrected, corrected)
	if lag := h.SendLag(); lag > r.lateThreshold {
		r.late++
		r.maxLag = max(r.maxLag, lag)
	} else if lag > r.maxLag {
		r.maxLag = lag
	}
	if r.first.IsZero() || h.Intended.Before(r.first) {
		r.first = h.Intended
	}
	if h.Intended.After(r.last) {
		r.last = h.Intended
	}
	if r.step > 0 {
		r.addSeries(h, corrected)
	}
}

func (r *Recorder) addSeries(h *Hit, corrected time.Duration) {
	// The series is keyed on the intended send time so that a stall shows where it began.
	// Hits of the first interval may arrive out of order; offsets before the origin are clamped.
	if r.origin.IsZero() {
		r.origin = h.Intended
	}
	off := max(h.Intended.Sub(r.origin), 0)
	i := int(off / r.step)
	for i >= maxIntervals {
		r.coarsen()
		i = int(off / r.step)
	}
	for len(r.series) <= i {
		r.series = append(r.series, newInterval())
	}
	iv := &r.series[i]
	iv.requests++
	if h.Error != "" {
		iv.errors++
	}
	record(iv.raw, h.Latency)
	record(iv.corrected, corrected)
}

// coarsen doubles the series step, merging intervals pairwise.
func (r *Recorder) coarsen() {
	r.step *= 2
	merged := make([]interval, 0, (len(r.series)+1)/2)
	for i := 0; i < len(r.series); i += 2 {
		iv := r.series[i]
		if i+1 < len(r.series) {
			iv.merge(r.series[i+1])
		}
		merged = append(merged, iv)
	}
	r.series = merged
}

// Report is the summary of a run. Its JSON keeps every field of vegeta's metrics JSON with
// vegeta's units (latencies in nanoseconds: mean, 50th, 90th, 95th, 99th, max, min; requests,
// rate, throughput, success, status_codes, errors) and adds the schedule view: the attempted
// rate, latencies from the intended send time next to HDR raw ones, and late sends.
type Report struct {
	vegeta.Metrics
	// AttemptedRate is the rate the schedule asked for, in requests per second.
	AttemptedRate float64 `json:"attempted_rate"`
	// RawLatencies is the HDR summary of vegeta's latencies (on the wire, to the last byte).
	RawLatencies Latencies `json:"raw_latencies"`
	// CorrectedLatencies run from the intended send time: coordinated omission corrected.
	CorrectedLatencies Latencies `json:"corrected_latencies"`
	// LateSends counts hits that left more than LateThreshold after their intended time.
	LateSends     uint64        `json:"late_sends"`
	LateThreshold time.Duration `json:"late_threshold"`
	MaxSendLag    time.Duration `json:"max_send_lag"`
	// Series is latency over time: intervals of SeriesStep from SeriesStart (wall clock), by
	// intended send time.
	Series      []Interval    `json:"series,omitempty"`
	SeriesStart time.Time     `json:"series_start,omitzero"`
	SeriesStep  time.Duration `json:"series_step,omitempty"`
	// RawHDR and CorrectedHDR are the histograms in HdrHistogram's compressed encoding, for merging.
	RawHDR       string `json:"raw_hdr,omitempty"`
	CorrectedHDR string `json:"corrected_hdr,omitempty"`

	raw, corrected *hdrhistogram.Histogram
	// series holds the histograms behind Series, for merging (nil when Series lacks them).
	series []interval
}

// Report closes the metrics and summarises them. The Recorder must not be used afterwards.
func (r *Recorder) Report() *Report {
	r.metrics.Close()
	rep := &Report{
		Metrics:            r.metrics,
		RawLatencies:       summarize(r.raw),
		CorrectedLatencies: summarize(r.corrected),
		LateSends:          r.late,
		LateThreshold:      r.lateThreshold,
		MaxSendLag:         r.maxLag,
		raw:                r.raw,
		corrected:          r.corrected,
	}
	if span := r.last.Sub(r.first); span > 0 && r.metrics.Requests > 1 {
		rep.AttemptedRate = float64(r.metrics.Requests-1) / span.Seconds()
	} else {
		rep.AttemptedRate = rep.Rate
	}
	rep.setSeries(r.origin, r.step, r.series)
	rep.encodeHDR()
	return rep
}

// setSeries sets the latency-over-time series from its histograms.
func (rep *Report) setSeries(start time.Time, step time.Duration, ivs []interval) {
	if len(ivs) == 0 {
		return
	}
	rep.SeriesStart, rep.SeriesStep, rep.series = start, step, ivs
	rep.Series = make([]Interval, len(ivs))
	for i, iv := range ivs {
		rep.Series[i] = iv.point(time.Duration(i) * step)
	}
}

// HasSeriesHistograms tells whether the report's latency over time can be merged: reports
// written before the series carried histograms cannot.
func (rep *Report) HasSeriesHistograms() bool { return len(rep.series) > 0 }

// encodeHDR stores the histograms in their compressed encoding, for merging.
func (rep *Report) encodeHDR() {
	if b, err := rep.raw.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		rep.RawHDR = string(b)
	}
	if b, err := rep.corrected.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		rep.CorrectedHDR = string(b)
	}
}

// Bucket is one bar of a latency histogram.
type Bucket struct {
	From, To time.Duration
	Count    int64
}

// CorrectedHistogram is the corrected latency distribution in about n logarithmic buckets.
func (rep *Report) CorrectedHistogram(n int) []Bucket {
	h := rep.corrected
	if h == nil && rep.CorrectedHDR != "" {
		h, _ = decodeHist(rep.CorrectedHDR)
	}
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	lo, hi := float64(max(h.Min(), 1)), float64(max(h.Max(), 2))
	ratio := math.Pow(hi/lo, 1/float64(n))
	if ratio <= 1 {
		ratio = 1.0001
	}
	var out []Bucket
	edges := []float64{lo}
	for e := lo; e < hi; {
		e *= ratio
		edges = append(edges, e)
	}
	counts := make([]int64, len(edges))
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		i := sort.SearchFloat64s(edges, float64(bar.From)+0.5)
		i = min(max(i-1, 0), len(edges)-1)
		counts[i] += bar.Count
	}
	for i := 0; i+1 < len(edges); i++ {
		out = append(out, Bucket{
			From:  time.Duration(edges[i] * float64(time.Microsecond)),
			To:    time.Duration(edges[i+1] * float64(time.Microsecond)),
			Count: counts[i],
		})
	}
	if last := len(edges) - 1; counts[last] > 0 && len(out) > 0 {
		out[len(out)-1].Count += counts[last]
	}
	return out
}

// DecodeHDR restores the histograms of a report read back from JSON, for merging.
func (rep *Report) DecodeHDR() error {
	var err error
	if rep.RawHDR == "" || rep.CorrectedHDR == "" {
		return fmt.Errorf("report has no histograms: it was not written by trafficctl load -o json")
	}
	if rep.raw, err = decodeHist(rep.RawHDR); err != nil {
		return fmt.Errorf("decode raw histogram: %w", err)
	}
	if rep.corrected, err = decodeHist(rep.CorrectedHDR); err != nil {
		return fmt.Errorf("decode corrected histogram: %w", err)
	}
	rep.series = nil
	if rep.SeriesStep <= 0 || rep.SeriesStart.IsZero() {
		return nil
	}
	if len(rep.Series) > maxIntervals || rep.SeriesStep > maxMergeSpan {
		return fmt.Errorf("series of %d intervals of %s: at most %d intervals of at most %s", len(rep.Series), rep.SeriesStep, maxIntervals, maxMergeSpan)
	}
	ivs := make([]interval, len(rep.Series))
	for i, p := range rep.Series {
		if p.RawHDR == "" || p.CorrectedHDR == "" {
			// An older report: its series can be drawn but not merged.
			return nil
		}
		iv := interval{requests: p.Requests, errors: p.Errors}
		if iv.raw, err = decodeHist(p.RawHDR); err != nil {
			return fmt.Errorf("decode raw histogram of interval %d: %w", i, err)
		}
		if iv.corrected, err = decodeHist(p.CorrectedHDR); err != nil {
			return fmt.Errorf("decode corrected histogram of interval %d: %w", i, err)
		}
		ivs[i] = iv
	}
	rep.series = ivs
	return nil
}

// footprint is the bytes held by the histograms: it depends on the run's length (series
// intervals, capped) but not on the number of requests.
func (r *Recorder) footprint() int {
	n := r.raw.ByteSize() + r.corrected.ByteSize()
	for _, iv := range r.series {
		n += iv.raw.ByteSize() + iv.corrected.ByteSize()
	}
	return n
}
