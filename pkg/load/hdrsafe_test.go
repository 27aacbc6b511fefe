package load

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// v2 builds a base64 V2-compressed histogram: header fields as given, then payload.
func v2(t *testing.T, digits int32, lowest, highest int64, payload []byte) string {
	t.Helper()
	var plain bytes.Buffer
	for _, v := range []any{int32(hdrUncompressedV2), int32(len(payload)), int32(0), digits, lowest, highest, float64(1)} {
		if err := binary.Write(&plain, binary.BigEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	plain.Write(payload)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	if _, err := zw.Write(plain.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = binary.Write(&out, binary.BigEndian, int32(hdrCompressedV2|0x10))
	_ = binary.Write(&out, binary.BigEndian, int32(z.Len()))
	out.Write(z.Bytes())
	return base64.StdEncoding.EncodeToString(out.Bytes())
}

// TestReadReportMalformedHistograms: a report whose histograms are malformed, oversized or a
// zlib bomb is an error (exit 2 in `load merge`), never a panic or an out-of-memory kill.
func TestReadReportMalformedHistograms(t *testing.T) {
	good, err := json.Marshal(recorded(10, time.Millisecond, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	header := func(n int32) string {
		b := make([]byte, 8)
		binary.BigEndian.PutUint32(b, uint32(hdrCompressedV2|0x10))
		binary.BigEndian.PutUint32(b[4:], uint32(n))
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct{ name, hdr, want string }{
		{"short", base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), "shorter than its header"},
		{"not base64", "!!!", "illegal base64"},
		{"negative length", header(-5), "does not fit"},
		{"length past the end", header(1 << 30), "does not fit"},
		{"not zlib", header(0) + "", "histogram"},
		{"zlib bomb", v2(t, 3, 1, 3600e6, make([]byte, maxHDRDecompressed+1)), "inflates beyond"},
		{"huge range", v2(t, 5, 1, 1<<62, nil), "unsupported header"},
		{"zero lowest", v2(t, 3, 0, 100, nil), "unsupported header"},
		{"counts past the end", v2(t, 2, 1, 100, bytes.Repeat([]byte{0x02}, 5000)), "malformed counts"},
		{"too long", strings.Repeat("A", maxHDREncoded+4), "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			m["raw_hdr"] = tt.hdr
			b, _ := json.Marshal(m)
			_, err := ReadReport(bytes.NewReader(b), DefaultLateThreshold)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestMergeReportsFarApart: reports whose series start years apart are refused at once instead
// of doubling the step forever.
func TestMergeReportsFarApart(t *testing.T) {
	a := recorded(10, time.Millisecond, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := recorded(10, time.Millisecond, time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC))
	c := recorded(10, time.Millisecond, time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC))
	var reps []*Report
	for _, r := range []*Report{a, b, c} {
		j, _ := json.Marshal(r)
		rr, err := ReadReport(bytes.NewReader(j), DefaultLateThreshold)
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rr)
	}
	done := make(chan error, 1)
	go func() { _, err := MergeReports(reps[:2]); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "merge reports of attackers that ran at the same time") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("merge of reports far apart does not end")
	}
	if _, err := MergeReports([]*Report{reps[0], reps[2]}); err != nil {
		t.Fatalf("reports a second apart: %v", err)
	}
}
