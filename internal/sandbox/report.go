package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/trafficctl/trafficctl/pkg/canary"
	"github.com/trafficctl/trafficctl/pkg/load"
	"github.com/trafficctl/trafficctl/pkg/report"
)

// Files the demo (scripts/demo.sh) leaves in its output directory for the report.
const (
	ReportLoad          = "load.json"           // trafficctl load run -o json
	ReportHistory       = "canary-history.json" // trafficctl canary history -o json
	ReportBalancePrefix = "balance-"            // balance-MODE.json: trafficctl load attack -o json
	ReportMetricsPrefix = "metrics-"            // metrics-MODE-{before,after}.txt: the data plane's /metrics
	ReportFile          = "report.html"
)

// BalanceModes are the balancing runs the report compares, in order.
var BalanceModes = []string{"round-robin", "ewma"}

// WriteReport renders the demo's outputs in dir as one self-contained HTML page (inline SVG
// charts, no script, no network) and returns its path and the summary rows (step, outcome).
// Missing parts are left out; a report with nothing in it is an error.
func WriteReport(dir string) (string, [][]string, error) {
	var sections []section
	summary := report.Table{Title: "What happened", Header: []string{"step", "outcome"}}
	found := 0

	var res load.ScenarioResult
	if ok, err := readJSON(filepath.Join(dir, ReportLoad), &res); err != nil {
		return "", nil, err
	} else if ok && res.Total != nil {
		found++
		verdict := "thresholds met"
		if !res.Passed {
			verdict = "thresholds BREACHED"
		}
		summary.Rows = append(summary.Rows, []string{"load scenario " + res.Name, fmt.Sprintf("%d requests, %.2f%% success, p99 %s: %s",
			res.Total.Requests, res.Total.Success*100, res.Total.RawLatencies.P99.Round(10*time.Microsecond), verdict)})
		sections = append(sections, section{Title: "Load scenario " + res.Name,
			Tables: append([]report.Table{load.SummaryTable("Totals", res.Total)}, load.ScenarioTables(&res)...),
			Charts: []report.Chart{load.OverTimeChart(res.Total)}})
	}

	var history []canary.Entry
	if ok, err := readJSON(filepath.Join(dir, ReportHistory), &history); err != nil {
		return "", nil, err
	} else if ok && len(history) > 0 {
		found++
		runs := canaryRuns(history)
		for i, r := range runs {
			summary.Rows = append(summary.Rows, []string{fmt.Sprintf("canary run %d", i+1), r.outcome})
		}
		sections = append(sections, section{Title: "Canary releases of web-v2",
			Note:   "A broken web-v2 (20% HTTP 500) is rolled back at the first step; a healthy one is promoted step by step. Weights are written as a TrafficSplit, which the data plane follows live; success rates are Linkerd's response_total counters in Prometheus.",
			Charts: []report.Chart{weightChart(runs), successChart(runs)},
			Tables: []report.Table{auditTable(history)}})
	}

	bal := report.Table{Title: "Balancing with one slow replica", Header: []string{"balancing", "requests", "success", "p50", "p90", "p99", "mean", "slow replica's share"}}
	over := report.Chart{Title: "Balancing with one slow replica: p99 latency over time", XLabel: "seconds since start", YLabel: "p99 latency (ms)"}
	var p99s []time.Duration
	var shares []string
	for _, mode := range BalanceModes {
		var rep load.Report
		ok, err := readJSON(filepath.Join(dir, ReportBalancePrefix+mode+".json"), &rep)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			continue
		}
		share := slowShare(dir, mode)
		l := rep.RawLatencies
		bal.Rows = append(bal.Rows, []string{mode, strconv.FormatUint(rep.Requests, 10), fmt.Sprintf("%.2f%%", rep.Success*100),
			ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Mean), share})
		s := report.Series{Name: mode}
		for _, iv := range rep.Series {
			if iv.Requests > 0 {
				s.Points = append(s.Points, report.Point{X: iv.Offset.Seconds(), Y: float64(iv.P99) / float64(time.Millisecond)})
			}
		}
		over.Series = append(over.Series, s)
		p99s = append(p99s, l.P99)
		shares = append(shares, share)
	}
	if len(bal.Rows) > 0 {
		found++
		sections = append(sections, section{Title: "Latency-aware balancing",
			Note:   "web-v2-0 answers 80 ms slower than its two siblings. Round robin keeps sending it a third of the requests; peak-EWMA with power of two choices (Linkerd's balancer) sends it almost none.",
			Tables: []report.Table{bal}, Charts: []report.Chart{over}})
		if len(p99s) == 2 {
			summary.Rows = append(summary.Rows, []string{"balancing, one replica slow", fmt.Sprintf("round robin: p99 %s, slow replica served %s; peak EWMA: p99 %s, slow replica served %s",
				ms(p99s[0]), shares[0], ms(p99s[1]), shares[1])})
		}
	}
	if found == 0 {
		return "", nil, fmt.Errorf("no demo results (%s, %s, %s*.json) in %s: run scripts/demo.sh (make demo)", ReportLoad, ReportHistory, ReportBalancePrefix, dir)
	}
	sections = append([]section{{Title: "Summary", Tables: []report.Table{summary}}}, sections...)
	path := filepath.Join(dir, ReportFile)
	f, err := os.Create(path)
	if err != nil {
		return "", nil, fmt.Errorf("create report: %w", err)
	}
	if err := reportTmpl.Execute(f, demoReport{Title: "trafficctl sandbox demo", Generated: time.Now().UTC().Format(time.RFC3339), Sections: sections}); err != nil {
		f.Close()
		return "", nil, fmt.Errorf("write report: %w", err)
	}
	return path, summary.Rows, f.Close()
}

// section is one part of the report: a heading, a note, tables and charts.
type section struct {
	Title, Note string
	Tables      []report.Table
	Charts      []report.Chart
}

type demoReport struct {
	Title, Generated string
	Sections         []section
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	// Every text in the SVG is escaped by Chart.SVG.
	"svg": func(c report.Chart) template.HTML { return template.HTML(c.SVG()) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;background:#fff;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ccc}h3{font-size:14px;margin-top:18px}
p.note{font-size:13px;color:#444;max-width:900px}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:12px;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
td{max-width:380px;overflow-wrap:anywhere}
figure{margin:12px 0}
</style></head>
<body>
<h1>{{.Title}}</h1>
<p class="note">Generated {{.Generated}} by <code>make demo</code> (scripts/demo.sh) against <code>trafficctl sandbox</code>: a real kube-apiserver, Prometheus and the Emojivoto-compatible demo app on 127.0.0.1, behind the sandbox's data plane (a stand-in for Linkerd's proxies, not a production mesh).</p>
{{range .Sections}}<h2>{{.Title}}</h2>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{range .Charts}}<figure>{{svg .}}</figure>
{{end}}{{range .Tables}}<h3>{{.Title}}</h3>
<table>{{if .Header}}<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>{{end}}
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{end}}</body></html>
`))

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// readJSON decodes path into v; false when the file does not exist.
func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return true, nil
}

// canaryRun is one rollout of the audit log: from a "start" entry to the next.
type canaryRun struct {
	entries []canary.Entry
	outcome string
}

func canaryRuns(h []canary.Entry) []canaryRun {
	var runs []canaryRun
	for _, e := range h {
		if e.Event == "start" || len(runs) == 0 {
			runs = append(runs, canaryRun{})
		}
		r := &runs[len(runs)-1]
		r.entries = append(r.entries, e)
		r.outcome = fmt.Sprintf("%s at %d%% after %s: %s", e.Phase, e.WeightAfter,
			e.Time.Sub(r.entries[0].Time).Round(100*time.Millisecond), e.Reason)
	}
	return runs
}

// weightChart draws each run's canary weight over time as steps.
func weightChart(runs []canaryRun) report.Chart {
	c := report.Chart{Title: "Canary timeline: traffic to web-v2", XLabel: "seconds since the first canary started", YLabel: "canary weight (%)"}
	t0 := runs[0].entries[0].Time
	for i, r := range runs {
		s := report.Series{Name: fmt.Sprintf("run %d: %s", i+1, r.entries[len(r.entries)-1].Phase)}
		for _, e := range r.entries {
			x := e.Time.Sub(t0).Seconds()
			s.Points = append(s.Points, report.Point{X: x, Y: float64(e.WeightBefore)}, report.Point{X: x, Y: float64(e.WeightAfter)})
		}
		c.Series = append(c.Series, s)
	}
	return c
}

// successChart draws the canary's success rate as each analysis measured it.
func successChart(runs []canaryRun) report.Chart {
	c := report.Chart{Title: "Canary timeline: web-v2 success rate at each analysis", XLabel: "seconds since the first canary started", YLabel: "success rate (%)"}
	t0 := runs[0].entries[0].Time
	for i, r := range runs {
		s := report.Series{Name: fmt.Sprintf("run %d", i+1)}
		for _, e := range r.entries {
			for _, ch := range e.Checks {
				if ch.Metric == "success-rate" && ch.Value != nil {
					s.Points = append(s.Points, report.Point{X: e.Time.Sub(t0).Seconds(), Y: *ch.Value})
				}
			}
		}
		c.Series = append(c.Series, s)
	}
	return c
}

func auditTable(h []canary.Entry) report.Table {
	t := report.Table{Title: "Canary audit log (hash-chained, from the rollout's ConfigMap)",
		Header: []string{"#", "time", "event", "weight", "phase", "verdict", "checks", "reason", "hash"}}
	for _, e := range h {
		var checks []string
		for _, c := range e.Checks {
			v := "no data"
			if c.Value != nil {
				v = strconv.FormatFloat(*c.Value, 'f', 2, 64)
			}
			checks = append(checks, fmt.Sprintf("%s=%s (%s)", c.Metric, v, c.Verdict))
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(e.Seq), e.Time.Format("15:04:05.000"), e.Event,
			fmt.Sprintf("%d%% → %d%%", e.WeightBefore, e.WeightAfter), string(e.Phase), string(e.Verdict),
			strings.Join(checks, ", "), e.Reason, e.Hash[:min(12, len(e.Hash))]})
	}
	return t
}

// inboundPod matches web's inbound series (not emoji's or voting's, which the data plane meters
// too); labels are in name order.
var inboundPod = regexp.MustCompile(`^response_total\{.*deployment="web-[^"]*",direction="inbound".*pod="([^"]+)".*\} (\S+)$`)

// slowShare is the share of inbound requests the slow replica (web-v2-0) answered during a
// balancing run, from the data plane's counters before and after it.
func slowShare(dir, mode string) string {
	before, err1 := podCounts(filepath.Join(dir, ReportMetricsPrefix+mode+"-before.txt"))
	after, err2 := podCounts(filepath.Join(dir, ReportMetricsPrefix+mode+"-after.txt"))
	if err1 != nil || err2 != nil {
		return "n/a"
	}
	var total, slow float64
	for pod, n := range after {
		d := n - before[pod]
		total += d
		if pod == SlowReplica {
			slow += d
		}
	}
	if total == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*slow/total)
}

// SlowReplica is the replica the demo makes slow for the balancing comparison.
const SlowReplica = "web-v2-0"

func podCounts(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := inboundPod.FindStringSubmatch(sc.Text()); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err == nil {
				out[m[1]] += v
			}
		}
	}
	return out, sc.Err()
}
