package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trafficctl/trafficctl/pkg/internal/limits"
)

// ErrBadResults is wrapped by errors about unreadable report or results files.
var ErrBadResults = errors.New("bad results")

// maxMergeSpan bounds the wall-clock span of the merged series: merged reports come from
// attackers that ran at the same time, and a series must not stretch over years.
const maxMergeSpan = 7 * 24 * time.Hour

// ReadReport reads a report written by `trafficctl load attack|run -o json`, or a results stream in
// any of vegeta's encodings (gob, JSON lines, CSV), which is summarised on the fly (without
// intended send times the corrected latencies equal the raw ones, and the series is keyed on
// the send times).
func ReadReport(r io.Reader, lateThreshold time.Duration) (*Report, error) {
	data, err := limits.ReadAll(r, limits.Report, "the report")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResults, err)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		// An attack's report, or a scenario's result whose total is one.
		var rep struct {
			Report
			Total *Report `json:"total"`
		}
		if err := json.Unmarshal(trimmed, &rep); err == nil {
			r := &rep.Report
			if r.RawHDR == "" && rep.Total != nil {
				r = rep.Total
			}
			if r.RawHDR != "" {
				if err := r.DecodeHDR(); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrBadResults, err)
				}
				return r, nil
			}
		}
	}
	// A first pass finds the span of the sends, so that the series starts at the earliest
	// (results are written in completion order) and has the resolution of an attack as long.
	var first, last time.Time
	if err := decodeResults(data, func(r *vegeta.Result) {
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		last = maxTime(last, r.Timestamp)
	}); err != nil {
		return nil, err
	}
	if first.IsZero() {
		return nil, fmt.Errorf("%w: no results", ErrBadResults)
	}
	rec := NewRecorder(lateThreshold, StepFor(last.Sub(first)))
	rec.origin = first
	var h Hit
	if err := decodeResults(data, func(r *vegeta.Result) {
		h = Hit{Result: *r, Intended: r.Timestamp, Started: r.Timestamp}
		rec.Add(&h)
	}); err != nil {
		return nil, err
	}
	return rec.Report(), nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// decodeResults calls fn with every result of a stream in one of vegeta's encodings.
func decodeResults(data []byte, fn func(*vegeta.Result)) error {
	dec := vegeta.DecoderFor(bytes.NewReader(data))
	if dec == nil {
		return fmt.Errorf("%w: neither a trafficctl JSON report nor vegeta results (gob, JSON, CSV)", ErrBadResults)
	}
	for n := 1; ; n++ {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%w: result %d: %w", ErrBadResults, n, err)
		}
		fn(&r)
	}
}

// MergeReports merges reports of attackers that ran at the same time (the replicas of a load
// job): counts add up, histograms are merged (percentiles of the whole, not averages of
// percentiles), attempted rates add up, and the achieved rate spans the earliest to the latest
// send. vegeta's latency fields are recomputed from the merged raw histogram. The latency-over-
// time series are merged on wall-clock time (see mergeSeries) when every report has one.
func MergeReports(reps []*Report) (*Report, error) {
	if len(reps) == 0 {
		return nil, fmt.Errorf("%w: nothing to merge", ErrBadResults)
	}
	out := &Report{raw: newHist(histDigits), corrected: newHist(histDigits)}
	m := &out.Metrics
	m.StatusCodes = map[string]int{}
	m.Errors = []string{}
	seenErr := map[string]bool{}
	var success float64
	for i, r := range reps {
		if r.raw == nil || r.corrected == nil {
			return nil, fmt.Errorf("%w: report %d has no histograms", ErrBadResults, i+1)
		}
		out.raw.Merge(r.raw)
		out.corrected.Merge(r.corrected)
		m.Requests += r.Requests
		m.BytesIn.Total += r.BytesIn.Total
		m.BytesOut.Total += r.BytesOut.Total
		m.Latencies.Total += r.Latencies.Total
		success += r.Success * float64(r.Requests)
		for k, v := range r.StatusCodes {
			m.StatusCodes[k] += v
		}
		for _, e := range r.Errors {
			if !seenErr[e] {
				seenErr[e] = true
				m.Errors = append(m.Errors, e)
			}
		}
		if m.Earliest.IsZero() || r.Earliest.Before(m.Earliest) {
			m.Earliest = r.Earliest
		}
		if r.Latest.After(m.Latest) {
			m.Latest = r.Latest
		}
		if r.End.After(m.End) {
			m.End = r.End
		}
		out.AttemptedRate += r.AttemptedRate
		out.LateSends += r.LateSends
		out.LateThreshold = max(out.LateThreshold, r.LateThreshold)
		out.MaxSendLag = max(out.MaxSendLag, r.MaxSendLag)
	}
	sort.Strings(m.Errors)
	if m.Requests > 0 {
		n := float64(m.Requests)
		m.Success = success / n
		m.BytesIn.Mean = float64(m.BytesIn.Total) / n
		m.BytesOut.Mean = float64(m.BytesOut.Total) / n
		m.Duration = m.Latest.Sub(m.Earliest)
		m.Wait = m.End.Sub(m.Latest)
		if s := m.Duration.Seconds(); s > 0 {
			m.Rate = n / s
			m.Throughput = success / (m.Duration + m.Wait).Seconds()
		}
	}
	start, step, ivs, err := mergeSeries(reps)
	if err != nil {
		return nil, err
	}
	if ivs != nil {
		out.setSeries(start, step, ivs)
	}
	out.RawLatencies = summarize(out.raw)
	out.CorrectedLatencies = summarize(out.corrected)
	raw := out.RawLatencies
	m.Latencies.Mean, m.Latencies.P50, m.Latencies.P90, m.Latencies.P95 = raw.Mean, raw.P50, raw.P90, raw.P95
	m.Latencies.P99, m.Latencies.Max, m.Latencies.Min = raw.P99, raw.Max, raw.Min
	out.encodeHDR()
	return out, nil
}

// mergeSeries merges the latency-over-time histograms of reports whose attackers ran at the same
// time but started at slightly different moments: the merged series starts at the earliest
// report's start, with the coarsest step of the inputs (doubled while it would pass
// maxIntervals), and each input interval goes whole into the merged interval holding its
// middle, so an interval is placed within half an input step of where it ran. It returns nil
// when a report has no series histograms: a series of some of the requests would mislead.
func mergeSeries(reps []*Report) (time.Time, time.Duration, []interval, error) {
	var start, end time.Time
	var step time.Duration
	for _, r := range reps {
		if len(r.series) == 0 || r.SeriesStep <= 0 {
			return time.Time{}, 0, nil, nil
		}
		if start.IsZero() || r.SeriesStart.Before(start) {
			start = r.SeriesStart
		}
		end = maxTime(end, r.SeriesStart.Add(time.Duration(len(r.series))*r.SeriesStep))
		step = max(step, r.SeriesStep)
	}
	if span := end.Sub(start); span > maxMergeSpan {
		return time.Time{}, 0, nil, fmt.Errorf("%w: the reports' series span %s, more than %s: merge reports of attackers that ran at the same time",
			ErrBadResults, span, maxMergeSpan)
	}
	for end.Sub(start) > maxIntervals*step {
		step *= 2
	}
	n := int((end.Sub(start) + step - 1) / step)
	out := make([]interval, n)
	for i := range out {
		out[i] = newInterval()
	}
	for _, r := range reps {
		for i, iv := range r.series {
			mid := r.SeriesStart.Add(time.Duration(i)*r.SeriesStep + r.SeriesStep/2)
			j := min(max(int(mid.Sub(start)/step), 0), n-1)
			out[j].merge(iv)
		}
	}
	return start, step, out, nil
}
