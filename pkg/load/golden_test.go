package load

import (
	"bytes"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
)

func TestGoldenTextReport(t *testing.T) {
	rep := syntheticReport()
	var b bytes.Buffer
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&b, BreakdownTable("Targets", "target", []Breakdown{{Name: "list", Report: rep}, {Name: "vote", Report: rep}})); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&b, ThresholdTable(Thresholds{P99: 50 * time.Millisecond, MinSuccess: 99}.Check(rep))); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/report.txt.golden", b.Bytes())
}
