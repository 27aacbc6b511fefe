package load

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update if the change is intended):\n%s", name, path, got)
	}
}

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
	golden(t, "report.txt", b.Bytes())
}
