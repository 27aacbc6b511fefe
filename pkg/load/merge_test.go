package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
)

// recorded is a report of n hits of the given latency, one every 10 ms from start.
func recorded(n int, lat time.Duration, start time.Time) *Report {
	rec := NewRecorder(DefaultLateThreshold, time.Second)
	for i := range n {
		at := start.Add(time.Duration(i) * 10 * time.Millisecond)
		h := &Hit{Intended: at, Started: at}
		h.Result = vegeta.Result{Code: 200, Timestamp: at, Latency: lat}
		rec.Add(h)
	}
	return rec.Report()
}

func TestMergeReportsMergesHistograms(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// 900 fast and 100 slow requests: the p95 of the whole is slow, although the average of
	// the two reports' p95s would not be.
	var files [][]byte
	for _, r := range []*Report{recorded(900, 10*time.Millisecond, start), recorded(100, 500*time.Millisecond, start)} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	var reps []*Report
	for _, f := range files {
		r, err := ReadReport(bytes.NewReader(f), DefaultLateThreshold)
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
	}
	m, err := MergeReports(reps)
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 1000 || m.StatusCodes["200"] != 1000 || m.Success != 1 {
		t.Errorf("requests %d codes %v success %v", m.Requests, m.StatusCodes, m.Success)
	}
	if p := m.Latencies.P50; p < 9*time.Millisecond || p > 11*time.Millisecond {
		t.Errorf("p50 %v, want 10ms", p)
	}
	if p := m.CorrectedLatencies.P95; p < 490*time.Millisecond {
		t.Errorf("p95 %v, want the slow requests' 500ms", p)
	}
	if m.AttemptedRate < 199 || m.AttemptedRate > 201 {
		t.Errorf("attempted rate %v, want 100+100", m.AttemptedRate)
	}
}

func TestReadReportVegetaResults(t *testing.T) {
	var b bytes.Buffer
	enc := vegeta.NewEncoder(&b)
	start := time.Now()
	for i := range 50 {
		r := vegeta.Result{Code: 200, Timestamp: start.Add(time.Duration(i) * time.Millisecond), Latency: 20 * time.Millisecond}
		if i == 0 {
			r.Code, r.Error = 503, "503 Service Unavailable"
		}
		if err := enc.Encode(&r); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := ReadReport(&b, DefaultLateThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 50 || rep.StatusCodes["503"] != 1 || rep.CorrectedLatencies.P50 != rep.RawLatencies.P50 {
		t.Errorf("requests %d codes %v corrected p50 %v raw p50 %v", rep.Requests, rep.StatusCodes, rep.CorrectedLatencies.P50, rep.RawLatencies.P50)
	}
	if _, err := ReadReport(strings.NewReader("not results"), DefaultLateThreshold); err == nil {
		t.Error("garbage accepted")
	}
}

// Memory stays flat: a million hits fit in the same histograms as a thousand.
func TestRecorderMemoryFlat(t *testing.T) {
	rec := NewRecorder(DefaultLateThreshold, time.Second)
	start := time.Now()
	add := func(from, n int) {
		for i := from; i < from+n; i++ {
			at := start.Add(time.Duration(i) * 100 * time.Microsecond) // 10k/s
			h := &Hit{Intended: at, Started: at}
			h.Result = vegeta.Result{Code: 200, Timestamp: at, Latency: time.Duration(1+i%5000) * time.Microsecond}
			rec.Add(h)
		}
	}
	add(0, 1000)
	before := rec.footprint()
	heapBefore := heapAlloc()
	add(1000, 1_000_000) // 100 s at 10k/s
	after := rec.footprint()
	if after > before+maxIntervals*2*newHist(seriesDigits).ByteSize() {
		t.Errorf("footprint grew from %d to %d bytes", before, after)
	}
	// The heap grows by the new series intervals only; a million raw samples would take at
	// least 8 MB more.
	if grown := int64(heapAlloc()) - int64(heapBefore); grown > int64(after-before)+2<<20 {
		t.Errorf("heap grew by %d bytes for %d bytes of new histograms", grown, after-before)
	}
	runtime.KeepAlive(rec)
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// seriesReport is a report with one second of hits per latency in lats, perSecond hits a second
// from start, through a JSON round trip as `load merge` reads it.
func seriesReport(t *testing.T, start time.Time, step time.Duration, perSecond int, lats ...time.Duration) *Report {
	t.Helper()
	rec := NewRecorder(DefaultLateThreshold, step)
	every := time.Second / time.Duration(perSecond)
	for s, lat := range lats {
		for i := range perSecond {
			at := start.Add(time.Duration(s)*time.Second + time.Duration(i)*every)
			h := &Hit{Intended: at, Started: at}
			h.Result = vegeta.Result{Code: 200, Timestamp: at, Latency: lat}
			rec.Add(h)
		}
	}
	b, err := json.Marshal(rec.Report())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ReadReport(bytes.NewReader(b), DefaultLateThreshold)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// seriesText renders the series without its histograms, for goldens and messages.
func seriesText(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "start %s step %s\n", rep.SeriesStart.Format(time.RFC3339Nano), rep.SeriesStep)
	for _, iv := range rep.Series {
		fmt.Fprintf(&b, "%6s requests %4d errors %d p50 %-6s p99 %-6s corrected p99 %s\n", iv.Offset, iv.Requests, iv.Errors, iv.P50, iv.P99, iv.Corrected)
	}
	return b.String()
}

func TestMergeReportsSeriesOnWallClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	// Replica a starts at t0, replica b 300 ms later (its pod started later): b's interval
	// [0.3 s, 1.3 s) belongs with a's [0 s, 1 s), its middle being at 0.8 s.
	a := seriesReport(t, t0, time.Second, 100, 10*ms, 20*ms, 30*ms)
	b := seriesReport(t, t0.Add(300*ms), time.Second, 50, 100*ms, 100*ms, 100*ms)
	m, err := MergeReports([]*Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	type point struct {
		requests int64
		p50, p99 time.Duration
	}
	want := []point{{150, 10 * ms, 100 * ms}, {150, 20 * ms, 100 * ms}, {150, 30 * ms, 100 * ms}, {0, 0, 0}}
	if !m.SeriesStart.Equal(t0) || m.SeriesStep != time.Second || len(m.Series) != len(want) {
		t.Fatalf("merged series:\n%s", seriesText(m))
	}
	var total int64
	for i, w := range want {
		iv := m.Series[i]
		total += iv.Requests
		// Series histograms keep two significant digits: values are within 1 %.
		near := func(got, want time.Duration) bool { return got >= want && got <= want+want/100 }
		if iv.Offset != time.Duration(i)*time.Second || iv.Requests != w.requests || !near(iv.P50, w.p50) || !near(iv.P99, w.p99) || !near(iv.Corrected, w.p99) {
			t.Errorf("interval %d = %+v, want %+v", i, iv, w)
		}
	}
	if total != int64(m.Requests) {
		t.Errorf("series holds %d requests, the report %d", total, m.Requests)
	}
	golden.Assert(t, "testdata/merged-series.txt.golden", []byte(seriesText(m)))

	// The merged report keeps its series histograms: merging it again (collect, then merge
	// with a later run) still works, and the HTML report draws latency over time.
	b2, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ReadReport(bytes.NewReader(b2), DefaultLateThreshold)
	if err != nil || !again.HasSeriesHistograms() {
		t.Fatalf("merged report read back: err %v, series histograms %v", err, again != nil && again.HasSeriesHistograms())
	}
	if charts := AttackPage("merged", again).Charts; len(charts) != 2 || charts[0].Title != "Latency over time" || len(charts[0].Series[0].Points) != 3 {
		t.Errorf("charts of the merged report: %+v", charts)
	}
}

func TestMergeReportsSeriesSteps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	tests := []struct {
		name      string
		reps      func() []*Report
		wantStep  time.Duration
		wantCount []int64
	}{
		{"coarsest step wins", func() []*Report {
			return []*Report{
				seriesReport(t, t0, time.Second, 10, 10*ms, 10*ms, 10*ms, 10*ms),
				seriesReport(t, t0.Add(100*ms), 2*time.Second, 10, 10*ms, 10*ms, 10*ms, 10*ms),
			}
		}, 2 * time.Second, []int64{40, 40, 0}},
		{"later start leaves the first intervals to the earlier", func() []*Report {
			return []*Report{
				seriesReport(t, t0, time.Second, 10, 10*ms, 10*ms),
				seriesReport(t, t0.Add(2*time.Second), time.Second, 10, 10*ms),
			}
		}, time.Second, []int64{10, 10, 10}},
		{"an input without series: none", func() []*Report {
			r := seriesReport(t, t0, time.Second, 10, 10*ms)
			r.series = nil
			return []*Report{seriesReport(t, t0, time.Second, 10, 10*ms), r}
		}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := MergeReports(tt.reps())
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, iv := range m.Series {
				got = append(got, iv.Requests)
			}
			if m.SeriesStep != tt.wantStep || fmt.Sprint(got) != fmt.Sprint(tt.wantCount) {
				t.Errorf("step %s counts %v, want %s %v:\n%s", m.SeriesStep, got, tt.wantStep, tt.wantCount, seriesText(m))
			}
		})
	}
}

// A results file has no report's series: reading it builds one from the send times, starting at
// the earliest send although results are written in completion order.
func TestReadReportResultsSeries(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	enc := vegeta.NewEncoder(&b)
	for _, off := range []time.Duration{500 * time.Millisecond, 0, 1500 * time.Millisecond, 2500 * time.Millisecond, 2600 * time.Millisecond} {
		if err := enc.Encode(&vegeta.Result{Code: 200, Timestamp: t0.Add(off), Latency: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := ReadReport(&b, DefaultLateThreshold)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, iv := range rep.Series {
		got = append(got, iv.Requests)
	}
	if !rep.SeriesStart.Equal(t0) || fmt.Sprint(got) != "[2 1 2]" || !rep.HasSeriesHistograms() {
		t.Errorf("series from results:\n%s", seriesText(rep))
	}
}
