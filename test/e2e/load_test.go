package e2e_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/internal/version"
	loadjob "github.com/trafficctl/trafficctl/pkg/load/job"
)

func loadServer(t *testing.T, delay time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// slotServer has a known capacity: slots concurrent requests of delay each, the rest queue.
func slotServer(t *testing.T, slots int, delay time.Duration) *httptest.Server {
	t.Helper()
	sem := make(chan struct{}, slots)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sem <- struct{}{}
		defer func() { <-sem }()
		time.Sleep(delay)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadBadInput(t *testing.T) {
	badTargets := writeFile(t, "targets.txt", "GET http://127.0.0.1:1/\nthis is not a header\n")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no URL", []string{"load", "attack"}, cli.ExitUsage, "give a URL to attack or --targets FILE"},
		{"zero rate", []string{"load", "attack", "http://127.0.0.1:1/", "--rate", "0/s"}, cli.ExitUsage, "invalid --rate: bad rate \"0/s\": must be positive"},
		{"bad rate", []string{"load", "attack", "http://127.0.0.1:1/", "--rate", "fast"}, cli.ExitUsage, "invalid --rate"},
		{"rate above the bound", []string{"load", "attack", "http://127.0.0.1:1/", "--rate", "2000000000/s"}, cli.ExitUsage, "rate must be within 0..1e+06, got 2e+09 (requests per second)"},
		{"rate above the bound per ns", []string{"load", "attack", "http://127.0.0.1:1/", "--rate", "5/1ns"}, cli.ExitUsage, "rate must be within 0..1e+06"},
		{"negative late threshold", []string{"load", "attack", "http://127.0.0.1:1/", "--late-threshold", "-1s"}, cli.ExitUsage, "invalid --late-threshold -1s: must be within 0s..1h0m0s"},
		{"negative pause", []string{"load", "sweep", "http://127.0.0.1:1/", "--rates", "10", "--pause", "-1s"}, cli.ExitUsage, "invalid --pause -1s: must be within 0s..1h0m0s"},
		{"NaN precision", []string{"load", "compare", "--baseline", "http://127.0.0.1:1/", "--target", "http://127.0.0.1:2/", "--precision", "NaN"}, cli.ExitUsage, "invalid --precision NaN"},
		{"NaN min success", []string{"load", "compare", "--baseline", "http://127.0.0.1:1/", "--target", "http://127.0.0.1:2/", "--min-success", "NaN"}, cli.ExitUsage, "invalid --min-success NaN"},
		{"zero duration", []string{"load", "attack", "http://127.0.0.1:1/", "--duration", "0s"}, cli.ExitUsage, "invalid --duration 0s: must be positive"},
		{"bad format", []string{"load", "attack", "http://127.0.0.1:1/", "-o", "xml"}, cli.ExitUsage, "invalid value \"xml\" for -o/--format"},
		{"bad URL", []string{"load", "attack", "ftp://x/"}, cli.ExitUsage, "scheme must be http or https"},
		{"bad header", []string{"load", "attack", "http://127.0.0.1:1/", "-H", "nocolon"}, cli.ExitUsage, "invalid -H \"nocolon\""},
		{"malformed targets name the line", []string{"load", "attack", "--targets", badTargets}, cli.ExitUsage, "line 2: bad header"},
		{"unreachable", []string{"load", "attack", "http://127.0.0.1:1/", "--duration", "1s"}, cli.ExitError, "target http://127.0.0.1:1/ is unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}

func TestLoadAttackJSONAndResults(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for a second")
	}
	srv := loadServer(t, 20*time.Millisecond)
	results := filepath.Join(t.TempDir(), "results.bin")
	code, stdout, stderr := runCLI(t, "load", "attack", srv.URL, "--rate", "50/s", "--duration", "1s", "-o", "json", "--output", results)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	for _, k := range []string{"latencies", "requests", "rate", "throughput", "success", "status_codes", "errors", "attempted_rate", "corrected_latencies", "raw_latencies", "late_sends"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	lat := got["latencies"].(map[string]any)
	for _, k := range []string{"mean", "50th", "90th", "95th", "99th", "max", "min"} {
		// Nanoseconds, as in vegeta: a 20 ms service time is above 1e7.
		if v, _ := lat[k].(float64); v < 1e7 {
			t.Errorf("latencies.%s = %v, want nanoseconds above 20ms", k, lat[k])
		}
	}
	// The results file is in vegeta's encoding: vegeta's decoder reads every result.
	fh, err := os.Open(results)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	dec := vegeta.NewDecoder(fh)
	n := 0
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		n++
	}
	if want := int(got["requests"].(float64)); n != want || n < 45 {
		t.Errorf("decoded %d results, report says %d", n, want)
	}
}

func TestLoadAttackTextAndHTML(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for a second")
	}
	srv := loadServer(t, 0)
	targets := writeFile(t, "targets.txt", "# list and vote\nGET "+srv.URL+"/api/list\n\nPOST "+srv.URL+"/api/vote\nContent-Type: application/json\n")
	code, stdout, stderr := runCLI(t, "load", "attack", "--targets", targets, "--rate", "100/s", "--duration", "1s")
	if code != cli.ExitOK || !strings.Contains(stdout, "Corrected     [min, mean, 50, 90, 95, 99, max]") || !strings.Contains(stdout, "Status Codes  [code:count]") {
		t.Fatalf("exit %d stderr %s stdout:\n%s", code, stderr, stdout)
	}
	code, stdout, _ = runCLI(t, "load", "attack", srv.URL, "--rate", "100/s", "--duration", "1s", "-o", "html")
	if code != cli.ExitOK || !strings.HasPrefix(stdout, "<!DOCTYPE html>") || strings.Count(stdout, "<svg") != 2 || strings.Contains(stdout, "<script") {
		t.Fatalf("exit %d, want a script-free HTML page with two charts:\n%.500s", code, stdout)
	}
}

func TestLoadRun(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for two seconds")
	}
	srv := loadServer(t, 20*time.Millisecond)
	base := strings.ReplaceAll(`name: demo
targets:
  - {name: list, url: URL/api/list, weight: 60}
  - {name: vote, method: POST, url: "URL/api/vote?choice=:joy:", weight: 30}
  - {name: leaderboard, url: URL/api/leaderboard, weight: 10}
stages:
  - {name: ramp, type: ramp, from: 20, to: 80, duration: 1s}
  - {name: steady, type: constant, rate: 50, duration: 1s}
thresholds: {p99: P99, minSuccess: 99.9}
`, "URL", srv.URL)
	tests := []struct {
		name     string
		p99      string
		format   string
		wantCode int
		want     []string
	}{
		{"passes", "2s", "text", cli.ExitOK, []string{"Stages", "ramp", "steady", "Targets", "list", "vote", "leaderboard", "Thresholds", "p99", "ok"}},
		{"breach exits 3", "1ms", "text", cli.ExitCheckFailed, []string{"BREACHED"}},
		{"json", "2s", "json", cli.ExitOK, []string{`"passed": true`, `"stages": [`, `"corrected_latencies"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "scenario.yaml", strings.ReplaceAll(base, "P99", tt.p99))
			code, stdout, stderr := runCLI(t, "load", "run", path, "-o", tt.format)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
			if tt.wantCode == cli.ExitCheckFailed && !strings.Contains(stderr, "error: SLO breached: p99") {
				t.Errorf("stderr %q, want the breached threshold named", stderr)
			}
		})
	}
}

func TestLoadRunMalformedScenario(t *testing.T) {
	path := writeFile(t, "bad.yaml", "targets:\n  - {url: http://127.0.0.1:1/}\nstages:\n  - {type: constant, rate: 10, duration: 1s}\n  - {type: ramp, duration: 2s}\n")
	code, _, stderr := runCLI(t, "load", "run", path)
	if code != cli.ExitUsage || !strings.Contains(stderr, "line 5: stage 2: ramp stage needs from or to > 0") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming line 5", code, stderr)
	}
}

func TestLoadSearchCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for several seconds")
	}
	fast := loadServer(t, 20*time.Millisecond)
	slow := loadServer(t, 30*time.Millisecond)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"sweep rates", []string{"load", "sweep", fast.URL, "--rates", "50,100", "--duration", "1s", "--pause", "0s"}, cli.ExitOK, []string{"50/s", "100/s", "p99 corrected"}},
		{"sweep connections html", []string{"load", "sweep", fast.URL, "--connections", "1,2", "--rate", "50/s", "--duration", "1s", "-o", "html"}, cli.ExitOK, []string{"Latency vs connections", "<svg", "50/s x 2 conns"}},
		{"capacity json", []string{"load", "capacity", fast.URL, "--slo-p99", "1s", "--start", "50/s", "--max-rate", "100/s", "--duration", "1s", "-o", "json"}, cli.ExitOK, []string{`"max_rate": 100`, `"generator_limited": false`, `"probes": [`}},
		{"capacity never met exits 3", []string{"load", "capacity", fast.URL, "--slo-p99", "5ms", "--start", "50/s", "--duration", "1s"}, cli.ExitCheckFailed, []string{"max rate 0/s", "breached"}},
		{"compare", []string{"load", "compare", "--baseline", fast.URL, "--target", slow.URL, "--rate", "50/s", "--duration", "1s", "--rounds", "2"}, cli.ExitOK, []string{"baseline", "target", "delta", " +"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s; stdout %s", code, tt.wantCode, stderr, stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// The max rate under the SLO of compare: the baseline serves anything the search asks (up to
// --max-rate), the target has a known capacity of 2 slots x 20 ms = 100/s, so the search on
// it passes 80/s, breaches 160/s and bisects once (--precision 0.5) to 80/s or 120/s.
func TestLoadCompareMaxRate(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for about ten seconds")
	}
	base := loadServer(t, 0)
	target := slotServer(t, 2, 20*time.Millisecond)
	args := []string{"load", "compare", "--baseline", base.URL, "--target", target.URL, "--rate", "80/s", "--rounds", "1",
		"--duration", "500ms", "--pause", "0s", "--slo-p99", "100ms", "--max-rate", "160/s", "--precision", "0.5"}

	type search struct {
		MaxRate      float64 `json:"max_rate"`
		FirstFailing float64 `json:"first_failing_rate"`
		Probes       []struct {
			Rate   float64 `json:"rate"`
			Passed bool    `json:"passed"`
		} `json:"probes"`
	}
	var got struct {
		MaxRate *struct {
			SLO struct {
				P99        time.Duration `json:"p99"`
				MinSuccess float64       `json:"min_success"`
			} `json:"slo"`
			Baseline       float64 `json:"baseline"`
			Target         float64 `json:"target"`
			Delta          float64 `json:"delta"`
			BaselineSearch search  `json:"baseline_search"`
			TargetSearch   search  `json:"target_search"`
		} `json:"max_rate"`
	}
	code, stdout, stderr := runCLI(t, append(args, "-o", "json")...)
	if code != cli.ExitOK {
		t.Fatalf("json: exit %d, stderr %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	m := got.MaxRate
	if m == nil {
		t.Fatalf("JSON lacks max_rate:\n%.2000s", stdout)
	}
	if m.SLO.P99 != 100*time.Millisecond || m.SLO.MinSuccess != 99.9 {
		t.Errorf("slo %+v, want p99 100ms and 99.9 %%", m.SLO)
	}
	if m.Baseline != 160 || m.BaselineSearch.MaxRate != 160 || len(m.BaselineSearch.Probes) != 4 {
		t.Errorf("baseline max rate %v after %d probes, want 160 after 20, 40, 80, 160", m.Baseline, len(m.BaselineSearch.Probes))
	}
	if m.Target < 80 || m.Target > 120 || m.TargetSearch.MaxRate != m.Target || m.TargetSearch.FirstFailing == 0 {
		t.Errorf("target max rate %v (search %+v), want 80 or 120: its capacity is 100/s", m.Target, m.TargetSearch)
	}
	if m.Delta != m.Target-m.Baseline || m.Delta >= 0 {
		t.Errorf("delta %v, want target - baseline = %v", m.Delta, m.Target-m.Baseline)
	}

	code, stdout, stderr = runCLI(t, args...)
	if code != cli.ExitOK {
		t.Fatalf("text: exit %d, stderr %s", code, stderr)
	}
	for _, re := range []string{
		`Max rate under corrected p99 <= 100ms, success >= 99\.9%`,
		`(?m)^baseline +160/s +not breached up to the max rate probed$`,
		`(?m)^target +(80|120)/s *$`,
		`(?m)^delta +-(80|40)/s *$`,
	} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("text output lacks %s:\n%s", re, stdout)
		}
	}
}

func TestLoadCompareBadInput(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"negative slo", []string{"--slo-p99", "-1ms"}, "invalid --slo-p99 -1ms"},
		{"min success over 100", []string{"--min-success", "101"}, "invalid --min-success 101"},
		{"precision", []string{"--precision", "1"}, "invalid --precision 1"},
		{"max rate", []string{"--max-rate", "0/s"}, "invalid --max-rate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"load", "compare", "--baseline", "http://127.0.0.1:1/", "--target", "http://127.0.0.1:1/"}, tt.args...)
			if code, _, stderr := runCLI(t, args...); code != cli.ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d stderr %q, want exit 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

func TestLoadMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load for two seconds")
	}
	srv := loadServer(t, 20*time.Millisecond)
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		code, stdout, stderr := runCLI(t, "load", "attack", srv.URL, "--rate", "50/s", "--duration", "1s", "-o", "json")
		if code != cli.ExitOK {
			t.Fatalf("attack: exit %d: %s", code, stderr)
		}
		files = append(files, filepath.Join(dir, "r"+string(rune('0'+i))+".json"))
		if err := os.WriteFile(files[i], []byte(stdout), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	results := filepath.Join(dir, "results.bin")
	if code, _, stderr := runCLI(t, "load", "attack", srv.URL, "--rate", "50/s", "--duration", "1s", "--output", results); code != cli.ExitOK {
		t.Fatalf("attack: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, append([]string{"load", "merge", "-o", "json"}, append(files, results)...)...)
	if code != cli.ExitOK {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	var got struct {
		Requests      int     `json:"requests"`
		AttemptedRate float64 `json:"attempted_rate"`
		Series        []struct {
			Requests int `json:"requests"`
		} `json:"series"`
		SeriesStep time.Duration `json:"series_step"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Requests < 145 || got.Requests > 150 || got.AttemptedRate < 140 {
		t.Errorf("merged %d requests at attempted %v/s, want 150 at 150/s", got.Requests, got.AttemptedRate)
	}
	// The three attacks ran one after the other: the merged latency over time spans them all,
	// one-second intervals, every request in one interval.
	inSeries := 0
	for _, iv := range got.Series {
		inSeries += iv.Requests
	}
	if got.SeriesStep != time.Second || len(got.Series) < 3 || inSeries != got.Requests {
		t.Errorf("merged series: %d intervals of %s holding %d of %d requests", len(got.Series), got.SeriesStep, inSeries, got.Requests)
	}
	code, stdout, stderr = runCLI(t, append([]string{"load", "merge", "-o", "html"}, files...)...)
	if code != cli.ExitOK || !strings.Contains(stdout, "Latency over time") || strings.Count(stdout, "<svg") != 2 || stderr != "" {
		t.Errorf("merge -o html: exit %d stderr %q, want latency over time and the histogram", code, stderr)
	}
	// A report of an older trafficctl: a series without interval histograms.
	var rep map[string]any
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	for _, iv := range rep["series"].([]any) {
		delete(iv.(map[string]any), "raw_hdr")
		delete(iv.(map[string]any), "corrected_hdr")
	}
	data, _ = json.Marshal(rep)
	old := writeFile(t, "old.json", string(data))
	code, stdout, stderr = runCLI(t, "load", "merge", "-o", "json", old, files[1])
	if code != cli.ExitOK || strings.Contains(stdout, `"series"`) || !strings.Contains(stderr, "note: no latency over time in the merged report: no interval histograms in "+old) {
		t.Errorf("merge with an old report: exit %d stderr %q", code, stderr)
	}
	bad := writeFile(t, "bad.json", "{}")
	if code, _, stderr := runCLI(t, "load", "merge", bad); code != cli.ExitUsage || !strings.Contains(stderr, "bad.json") {
		t.Errorf("exit %d stderr %q, want exit 2 naming the file", code, stderr)
	}
}

// Ctrl-C during compare's max-rate search keeps the latency comparison already measured.
func TestLoadCompareInterruptedSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load")
	}
	base, target := loadServer(t, 0), loadServer(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	// One round of 2 x 500 ms, then a search up to 100000/s in 500 ms probes: the cancel
	// lands in the search.
	time.AfterFunc(3*time.Second, cancel)
	code, out, errOut := runCLIWith(ctx, strings.NewReader(""),
		"load", "compare", "--baseline", base.URL, "--target", target.URL, "--rate", "50/s", "--rounds", "1",
		"--duration", "500ms", "--pause", "0s", "--slo-p99", "1s")
	if code != cli.ExitError || !strings.Contains(errOut, "max-rate search interrupted: the latency comparison is complete") {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
	if !strings.Contains(out, "Comparison at 50/s, 1 interleaved rounds") {
		t.Errorf("the comparison measured before the interrupt is lost: stdout %q", out)
	}
}

// Ctrl-C (the context cancelled) stops the attack at once and still prints the report.
func TestLoadAttackInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load")
	}
	srv := loadServer(t, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(700*time.Millisecond, cancel)
	start := time.Now()
	code, out, errOut := runCLIWith(ctx, strings.NewReader(""), "load", "attack", srv.URL, "--rate", "100/s", "--duration", "60s", "-o", "json")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v after the interrupt", d)
	}
	if code != cli.ExitError || !strings.Contains(errOut, "attack interrupted after") {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
	var rep struct{ Requests int }
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Requests < 30 {
		t.Errorf("partial report %q (err %v), want ~60 requests", out, err)
	}
}

func TestLoadJobAndCollect(t *testing.T) {
	sc := writeFile(t, "demo.yaml", "targets:\n  - {url: http://web-svc.emojivoto:8080/api/list}\nstages:\n  - {type: constant, rate: 50, duration: 30s}\nthresholds: {p99: 200ms}\n")
	code, stdout, stderr := runCLI(t, "load", "job", sc, "--replicas", "3", "-n", "emojivoto")
	if code != cli.ExitOK {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	for _, w := range []string{"kind: ConfigMap", "kind: Job", "name: loadtest-demo", "namespace: emojivoto", "parallelism: 3", "completionMode: Indexed",
		"image: " + loadjob.Image(version.Version), "--fail-on-breach=false", "rate: 50", "trafficctl.dev/load-thresholds"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("rendered job lacks %q:\n%s", w, stdout)
		}
	}
	if code, _, stderr := runCLI(t, "load", "job", sc, "--replicas", "0"); code != cli.ExitUsage || !strings.Contains(stderr, "--replicas 0") {
		t.Errorf("replicas 0: exit %d %q", code, stderr)
	}

	env := testenv.Require(t)
	ns := env.Namespace(t)
	base := []string{"--kubeconfig", env.Kubeconfig, "-n", ns}
	code, stdout, stderr = runCLI(t, append(base, "load", "job", sc, "--replicas", "2", "--apply")...)
	if code != cli.ExitOK || !strings.Contains(stdout, "configmap/loadtest-demo applied") || !strings.Contains(stdout, "job/loadtest-demo applied") {
		t.Fatalf("apply: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	// No kubelet runs in the test environment: the job never finishes, so no verdict yet.
	code, _, stderr = runCLI(t, append(base, "load", "collect", "loadtest-demo")...)
	if code != cli.ExitUndecided || !strings.Contains(stderr, "0 of 2 attackers done") {
		t.Errorf("collect: exit %d stderr %q, want exit 4", code, stderr)
	}
}

func TestLoadAttackGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load")
	}
	addr := startHealthServer(t, true)
	body := writeFile(t, "req.json", `{"service": ""}`)
	code, stdout, stderr := runCLI(t, "load", "attack", "grpc://"+addr+"/grpc.health.v1.Health/Check", "--body", body, "--rate", "50/s", "--duration", "1s")
	if code != cli.ExitOK || !strings.Contains(stdout, "200:50") {
		t.Errorf("exit %d stderr %q stdout:\n%s", code, stderr, stdout)
	}
}

// startHealthServer serves the standard gRPC health service on a loopback port until the test
// ends, with or without the reflection service, and returns its address.
func startHealthServer(t *testing.T, withReflection bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	if withReflection {
		reflection.Register(s)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// healthProto is the standard gRPC health service, as its .proto file.
const healthProto = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`

// A gRPC server without reflection is load-tested with its .proto files, from flags or from
// the scenario file.
func TestLoadGRPCWithProtos(t *testing.T) {
	if testing.Short() {
		t.Skip("sends load")
	}
	addr := startHealthServer(t, false)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "proto", "grpc", "health", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	proto := filepath.Join(dir, "proto", "grpc", "health", "v1", "health.proto")
	if err := os.WriteFile(proto, []byte(healthProto), 0o600); err != nil {
		t.Fatal(err)
	}
	importing := filepath.Join(dir, "api.proto")
	if err := os.WriteFile(importing, []byte(`syntax = "proto3"; package api; import "grpc/health/v1/health.proto";`), 0o600); err != nil {
		t.Fatal(err)
	}
	other := writeFile(t, "other.proto", `syntax = "proto3"; package other; message M {} service Other { rpc Ping(M) returns (M); }`)
	check := "grpc://" + addr + "/grpc.health.v1.Health/Check"
	body := writeFile(t, "req.json", `{"service": ""}`)
	attack := func(extra ...string) []string {
		return append([]string{"load", "attack", check, "--body", body, "--rate", "50/s", "--duration", "1s"}, extra...)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout when the exit is 0, else in stderr
	}{
		{"proto file", attack("--proto", proto), cli.ExitOK, "200:50"},
		{"importing file with -I", attack("--proto", importing, "-I", dir, "-I", filepath.Join(dir, "proto")), cli.ExitOK, "200:50"},
		{"no proto: reflection is missing", attack(), cli.ExitError, "the server must register the reflection service, or give its .proto files with --proto"},
		{"missing file", attack("--proto", filepath.Join(dir, "nope.proto")), cli.ExitUsage, "--proto: bad proto: stat " + filepath.Join(dir, "nope.proto") + ": no such file or directory"},
		{"import not found", attack("--proto", importing), cli.ExitUsage, "add the directory of the file or of its imports with -I"},
		{"method not in the protos", []string{"load", "attack", strings.Replace(check, "Check", "Chek", 1), "--proto", proto},
			cli.ExitUsage, "method /grpc.health.v1.Health/Chek is not in " + proto + ": services found: grpc.health.v1.Health (Check, Watch)"},
		{"import path alone", attack("-I", dir), cli.ExitUsage, "-I/--import-path is where --proto files are found: give the files with --proto"},
		{"unreachable", []string{"load", "attack", "grpc://127.0.0.1:1/grpc.health.v1.Health/Check", "--proto", proto, "--duration", "1s"}, cli.ExitError, "is unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectCLI(t, tt.args, tt.wantCode, tt.want) })
	}

	scenario := func(extra string) string {
		return writeFile(t, "scenario.yaml", "targets:\n  - {name: check, url: "+check+", body: \"{}\"}\n"+
			"stages:\n  - {type: constant, rate: 50, duration: 1s}\nthresholds: {minSuccess: 100}\n"+extra)
	}
	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"scenario protos", []string{"load", "run", scenario("protos: [" + proto + "]\n")}, cli.ExitOK, "200:50"},
		{"scenario protos with importPaths", []string{"load", "run", scenario("protos: [" + importing + "]\nimportPaths: [" + dir + ", " + filepath.Join(dir, "proto") + "]\n")}, cli.ExitOK, "200:50"},
		{"--proto on the command line", []string{"load", "run", scenario(""), "--proto", proto}, cli.ExitOK, "200:50"},
		{"scenario proto missing names the line", []string{"load", "run", scenario("protos: [nope.proto]\n")}, cli.ExitUsage, "line 6: protos: bad proto: stat"},
		{"--proto and -I on the command line", []string{"load", "run", scenario(""), "--proto", importing, "-I", dir, "-I", filepath.Join(dir, "proto")}, cli.ExitOK, "200:50"},
		{"--proto replaces the scenario's protos, unread", []string{"load", "run", scenario("protos: [nope.proto]\n"), "--proto", proto}, cli.ExitOK, "200:50"},
		{"--proto without the method", []string{"load", "run", scenario(""), "--proto", other}, cli.ExitUsage,
			"target 1: bad target: check: method /grpc.health.v1.Health/Check is not in " + other + ": services found: other.Other (Ping)"},
	} {
		t.Run(tt.name, func(t *testing.T) { expectCLI(t, tt.args, tt.wantCode, tt.want) })
	}
}

// The attacker pods of a load job have the scenario, not the files it names.
func TestLoadJobRejectsProtos(t *testing.T) {
	proto := writeFile(t, "health.proto", healthProto)
	sc := writeFile(t, "grpc.yaml", "targets:\n  - {url: grpc://emoji-svc.emojivoto:8080/grpc.health.v1.Health/Check}\n"+
		"stages:\n  - {type: constant, rate: 50, duration: 30s}\nprotos: ["+proto+"]\n")
	code, _, stderr := runCLI(t, "load", "job", sc, "--replicas", "2")
	if code != cli.ExitUsage || !strings.Contains(stderr, "protos "+proto+" are files the attacker pods do not have") {
		t.Errorf("exit %d stderr %q, want exit 2 naming the protos", code, stderr)
	}
}
