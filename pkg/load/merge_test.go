package load

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
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
