package load

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trafficctl/trafficctl/pkg/report"
)

// WriteText writes rep as a compact table in the layout of `vegeta report`, with the
// corrected latencies and the schedule (attempted rate, late sends) added.
func WriteText(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.StripEscape)
	m := rep.Metrics
	lat := func(l Latencies) string {
		return joinDur(l.Min, l.Mean, l.P50, l.P90, l.P95, l.P99, l.Max)
	}
	fmt.Fprintf(tw, "Requests\t[total, rate, throughput]\t%d, %.2f, %.2f\n", m.Requests, m.Rate, m.Throughput)
	fmt.Fprintf(tw, "Schedule\t[attempted rate, late sends, max lag]\t%.2f, %d, %s\n", rep.AttemptedRate, rep.LateSends, round(rep.MaxSendLag))
	fmt.Fprintf(tw, "Duration\t[total, attack, wait]\t%s, %s, %s\n", round(m.Duration+m.Wait), round(m.Duration), round(m.Wait))
	fmt.Fprintf(tw, "Latencies\t[min, mean, 50, 90, 95, 99, max]\t%s\n", lat(rep.RawLatencies))
	fmt.Fprintf(tw, "Corrected\t[min, mean, 50, 90, 95, 99, max]\t%s\n", lat(rep.CorrectedLatencies))
	fmt.Fprintf(tw, "Bytes In\t[total, mean]\t%d, %.2f\n", m.BytesIn.Total, m.BytesIn.Mean)
	fmt.Fprintf(tw, "Bytes Out\t[total, mean]\t%d, %.2f\n", m.BytesOut.Total, m.BytesOut.Mean)
	fmt.Fprintf(tw, "Success\t[ratio]\t%.2f%%\n", m.Success*100)
	fmt.Fprintf(tw, "Status Codes\t[code:count]\t%s\n", statusCodes(m.StatusCodes))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.Errors) > 0 {
		fmt.Fprintln(w, "Error Set:")
		for _, e := range m.Errors {
			fmt.Fprintln(w, e)
		}
	}
	return nil
}

func statusCodes(codes map[string]int) string {
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, codes[k]))
	}
	return strings.Join(parts, " ")
}

func joinDur(ds ...time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = round(d).String()
	}
	return strings.Join(parts, ", ")
}

// round keeps durations readable: microseconds below a second, milliseconds above.
func round(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// WriteTable writes t as aligned columns under its title.
func WriteTable(w io.Writer, t report.Table) error {
	if t.Title != "" {
		if _, err := fmt.Fprintf(w, "\n%s\n", t.Title); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if len(t.Header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
	}
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// BreakdownTable lists reports side by side: one row per stage, target, rate or run.
func BreakdownTable(title, first string, parts []Breakdown) report.Table {
	t := report.Table{Title: title, Header: []string{first, "requests", "attempted/s", "achieved/s", "success", "p50", "p99", "p99 corrected", "max corrected", "late"}}
	for _, p := range parts {
		r := p.Report
		t.Rows = append(t.Rows, []string{
			p.Name, fmt.Sprint(r.Requests), fmt.Sprintf("%.1f", r.AttemptedRate), fmt.Sprintf("%.1f", r.Rate),
			fmt.Sprintf("%.2f%%", r.Success*100), fmtMs(r.RawLatencies.P50), fmtMs(r.RawLatencies.P99),
			fmtMs(r.CorrectedLatencies.P99), fmtMs(r.CorrectedLatencies.Max), fmt.Sprint(r.LateSends),
		})
	}
	return t
}

// ThresholdTable lists the verdicts on a scenario's thresholds.
func ThresholdTable(res []ThresholdResult) report.Table {
	t := report.Table{Title: "Thresholds (corrected latencies)", Header: []string{"threshold", "limit", "actual", "verdict"}}
	for _, r := range res {
		v := "ok"
		if !r.Passed {
			v = "BREACHED"
		}
		t.Rows = append(t.Rows, []string{r.Name, r.Limit, r.Actual, v})
	}
	return t
}

// ScenarioTables are the breakdown and threshold tables of a scenario run.
func ScenarioTables(res *ScenarioResult) []report.Table {
	ts := []report.Table{BreakdownTable("Stages", "stage", res.Stages), BreakdownTable("Targets", "target", res.Targets)}
	if len(res.Thresholds) > 0 {
		ts = append(ts, ThresholdTable(res.Thresholds))
	}
	return ts
}
