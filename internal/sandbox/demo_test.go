package sandbox

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/canary"
)

// TestDemo runs `make demo`'s script end to end with shortened durations: a broken canary rolled
// back, a good one promoted, the balancing comparison, and a report whose charts Chromium draws.
func TestDemo(t *testing.T) {
	o := options(t) // skips without the API server binaries, Prometheus or the CRDs
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "trafficctl")
	build := exec.Command("go", "build", "-o", bin, "./cmd/trafficctl")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build trafficctl: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), "TRAFFICCTL="+bin, "DEMO_OUT="+out, "DEMO_SCALE=0.6", "TRAFFICCTL_PROMETHEUS="+o.PrometheusBin, "TRAFFICCTL_CRDS_DIR="+o.CRDs)
	start := time.Now()
	logs, err := cmd.CombinedOutput()
	t.Logf("demo output (%s):\n%s", time.Since(start).Round(time.Second), logs)
	if Running(filepath.Join(out, "sandbox")) {
		t.Error("the demo left sandbox processes running")
		_, _ = Down(filepath.Join(out, "sandbox"))
	}
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	report := filepath.Join(out, ReportFile)
	if !strings.Contains(string(logs), "report: "+report) {
		t.Errorf("demo did not print the report path %s", report)
	}

	var history []canary.Entry
	b, err := os.ReadFile(filepath.Join(out, ReportHistory))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &history); err != nil {
		t.Fatal(err)
	}
	var ends []canary.Phase
	for _, e := range history {
		if e.Phase.Terminal() {
			ends = append(ends, e.Phase)
		}
	}
	if len(ends) != 2 || ends[0] != canary.PhaseRolledBack || ends[1] != canary.PhasePromoted {
		t.Errorf("canary outcomes %v, want [RolledBack Promoted]", ends)
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Load scenario", "Canary releases of web-v2", "Latency-aware balancing", "round-robin", "ewma"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	assertChartsDrawn(t, report)
}

// assertChartsDrawn renders the report in headless Chromium and checks the screenshot shows the
// charts' series colours, not just text on white.
func assertChartsDrawn(t *testing.T, report string) {
	t.Helper()
	chromium := testenv.Chromium(t)
	dir := t.TempDir()
	shot := filepath.Join(dir, "report.png")
	args := append(testenv.ChromiumArgs(filepath.Join(dir, "profile")), "--window-size=1200,5000", "--screenshot="+shot, "file://"+report)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, chromium, args...).CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The first two series colours of the charts (pkg/load's palette): blue #1f77b4, red #d62728.
	blue, red := 0, 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			switch {
			case near(r, 0x1f) && near(g, 0x77) && near(b, 0xb4):
				blue++
			case near(r, 0xd6) && near(g, 0x27) && near(b, 0x28):
				red++
			}
		}
	}
	if blue < 200 || red < 200 {
		t.Errorf("screenshot has %d blue and %d red chart pixels: the charts did not draw", blue, red)
	}
}

func near(v, want uint32) bool { return v+24 >= want && v <= want+24 }
