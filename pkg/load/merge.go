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
)

// ErrBadResults is wrapped by errors about unreadable report or results files.
var ErrBadResults = errors.New("bad results")

// ReadReport reads a report written by `trafficctl load attack|run -o json`, or a results stream in
// any of vegeta's encodings (gob, JSON lines, CSV), which is summarised on the fly (without
// intended send times the corrected latencies equal the raw ones).
func ReadReport(r io.Reader, lateThreshold time.Duration) (*Report, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
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
	dec := vegeta.DecoderFor(bytes.NewReader(data))
	if dec == nil {
		return nil, fmt.Errorf("%w: neither a trafficctl JSON report nor vegeta results (gob, JSON, CSV)", ErrBadResults)
	}
	rec := NewRecorder(lateThreshold, 0)
	var h Hit
	for {
		h = Hit{}
		if err := dec.Decode(&h.Result); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%w: result %d: %w", ErrBadResults, rec.metrics.Requests+1, err)
		}
		h.Intended, h.Started = h.Timestamp, h.Timestamp
		rec.Add(&h)
	}
	if rec.metrics.Requests == 0 {
		return nil, fmt.Errorf("%w: no results", ErrBadResults)
	}
	return rec.Report(), nil
}

// MergeReports merges reports of attackers that ran at the same time (the replicas of a load
// job): counts add up, histograms are merged (percentiles of the whole, not averages of
// percentiles), attempted rates add up, and the achieved rate spans the earliest to the latest
// send. vegeta's latency fields are recomputed from the merged raw histogram.
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
	out.RawLatencies = summarize(out.raw)
	out.CorrectedLatencies = summarize(out.corrected)
	raw := out.RawLatencies
	m.Latencies.Mean, m.Latencies.P50, m.Latencies.P90, m.Latencies.P95 = raw.Mean, raw.P50, raw.P90, raw.P95
	m.Latencies.P99, m.Latencies.Max, m.Latencies.Min = raw.P99, raw.Max, raw.Min
	out.encodeHDR()
	return out, nil
}
