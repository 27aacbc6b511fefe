package load

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/report"
)

// syntheticReport records a known run: 10 s at 100/s, latency rising from 10 to 60 ms, with
// a stall at 5 s that the corrected latency shows.
func syntheticReport() *Report {
	rec := NewRecorder(DefaultLateThreshold, time.Second)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		off := time.Duration(i) * 10 * time.Millisecond
		lat := 10*time.Millisecond + time.Duration(i)*50*time.Microsecond
		h := &Hit{Intended: start.Add(off), Started: start.Add(off), Offset: off}
		h.Result = vegeta.Result{Code: 200, Timestamp: start.Add(off), Latency: lat}
		if i >= 500 && i < 520 {
			h.Timestamp = h.Timestamp.Add(200 * time.Millisecond)
			h.Started = h.Timestamp
		}
		if i%100 == 0 {
			h.Code, h.Error = 500, "500 Internal Server Error"
		}
		rec.Add(h)
	}
	return rec.Report()
}

func TestHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteHTML(&b, AttackPage("report <&>", syntheticReport())); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script", "http://", "https://", "src=", "<&>"} {
		if bad == "http://" {
			// The SVG namespace is an identifier, not a fetch.
			out = strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, "")
		}
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	if n := strings.Count(out, "<svg"); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
}

// TestHTMLRendersInChromium renders the report headless and checks the charts drew: the
// screenshot has the series colours and no console error was logged.
func TestHTMLRendersInChromium(t *testing.T) {
	chromium := testenv.Chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	rep := syntheticReport()
	p := AttackPage("trafficctl load attack", rep)
	p.Charts = append(p.Charts, LatencyChart("Latency vs rate", "requests per second", []*Probe{
		newProbe(100, 0, rep), newProbe(200, 0, rep),
	}, func(p *Probe) float64 { return p.Rate }))
	var b bytes.Buffer
	if err := report.WriteHTML(&b, p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append(testenv.ChromiumArgs(filepath.Join(dir, "profile")),
		"--enable-logging=stderr", "--v=0", "--window-size=900,1400", "--screenshot="+shot, "file://"+page)
	cmd := exec.CommandContext(ctx, chromium, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "Uncaught") || strings.Contains(line, "CONSOLE") || strings.Contains(line, "Refused to") {
			t.Errorf("console error: %s", line)
		}
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
	var nonWhite, blue, red int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 240 || g < 240 || bl < 240 {
				nonWhite++
			}
			if r < 60 && g > 100 && g < 140 && bl > 160 { // #1f77b4, the first series and the bars
				blue++
			}
			if r > 190 && g < 60 && bl < 60 { // #d62728, the p99 line
				red++
			}
		}
	}
	total := bounds.Dx() * bounds.Dy()
	if nonWhite < total/100 || blue < 500 || red < 100 {
		t.Errorf("screenshot looks blank: %d non-white, %d blue, %d red pixels of %d", nonWhite, blue, red, total)
	}
	if testing.Verbose() {
		t.Logf("screenshot %s: %d non-white, %d blue, %d red pixels", shot, nonWhite, blue, red)
	}
}
