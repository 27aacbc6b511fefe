package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/demo holds the outputs of a real `make demo` run.
func copyDemo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join("testdata", "demo", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestWriteReport(t *testing.T) {
	dir := copyDemo(t)
	path, summary, err := WriteReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(summary) != 4 {
		t.Errorf("summary %v, want 4 rows (load, two canaries, balancing)", summary)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		"<td>canary run 1</td><td>RolledBack at 0%",
		"<td>canary run 2</td><td>Promoted at 100%",
		"<td>round-robin</td><td>800</td><td>100.00%</td><td>2.5 ms</td><td>83.6 ms</td><td>98.2 ms</td><td>29.8 ms</td><td>33.3%</td>",
		"<td>ewma</td><td>800</td><td>100.00%</td><td>1.4 ms</td><td>3.5 ms</td><td>17.5 ms</td><td>2.1 ms</td><td>0.0%</td>",
		"round robin: p99 98.2 ms, slow replica served 33.3%; peak EWMA: p99 17.5 ms, slow replica served 0.0%",
		"Canary audit log",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	if n := strings.Count(html, "<svg"); n != 4 {
		t.Errorf("%d charts, want 4 (load, canary weights, canary success, balancing)", n)
	}
	if bare := strings.ReplaceAll(html, "http://www.w3.org/2000/svg", ""); strings.Contains(bare, "<script") || strings.Contains(bare, "http://") || strings.Contains(bare, "https://") {
		t.Error("report is not self-contained: it has a script or a remote URL")
	}
	if testing.Short() {
		return
	}
	assertChartsDrawn(t, path)
}

func TestWriteReportNothing(t *testing.T) {
	if _, _, err := WriteReport(t.TempDir()); err == nil || !strings.Contains(err.Error(), "make demo") {
		t.Errorf("empty directory: %v, want an error pointing at make demo", err)
	}
}
