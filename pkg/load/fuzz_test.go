package load

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseRate: a rate that parses is positive and within MaxRate, so the pacer can pace it.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"200/s", "1500/1m", "1000000", "2000000000/s", "5/1ns", "1/0s", "-5", "NaN", "9223372036854775807/1h", "1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if ps := PerSecond(r); !(ps > 0 && ps <= MaxRate) {
			t.Fatalf("%q parsed to %v/s", s, ps)
		}
	})
}

// FuzzReadReport: the merge reader returns a report or an error for any input, and merging what
// it returns ends.
func FuzzReadReport(f *testing.F) {
	good, _ := json.Marshal(recorded(20, time.Millisecond, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	f.Add(good)
	f.Add([]byte(`{"raw_hdr":"AAAA","corrected_hdr":"AAAA"}`))
	f.Add([]byte(`{"raw_hdr":"HIST","series_step":1}`))
	f.Add([]byte("{\"code\":200,\"timestamp\":\"2026-01-01T00:00:00Z\",\"latency\":1000}\n"))
	f.Add([]byte("1700000000000000000,200,1000,0,0,GET,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := ReadReport(bytes.NewReader(data), DefaultLateThreshold)
		if err != nil {
			return
		}
		_, _ = MergeReports([]*Report{rep, rep})
	})
}
