package load

import (
	"fmt"
	"time"

	"github.com/trafficctl/trafficctl/pkg/report"
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.2f ms", ms(d)) }

// SummaryTable is the main figures of rep as a table.
func SummaryTable(title string, rep *Report) report.Table {
	raw, cor := rep.RawLatencies, rep.CorrectedLatencies
	return report.Table{
		Title:  title,
		Header: []string{"", "value"},
		Rows: [][]string{
			{"requests", fmt.Sprint(rep.Requests)},
			{"attempted rate (req/s)", fmt.Sprintf("%.2f", rep.AttemptedRate)},
			{"achieved rate (req/s)", fmt.Sprintf("%.2f", rep.Rate)},
			{"throughput (ok/s)", fmt.Sprintf("%.2f", rep.Throughput)},
			{"success", fmt.Sprintf("%.2f %%", rep.Success*100)},
			{"late sends", fmt.Sprint(rep.LateSends)},
			{"p50 raw / corrected", fmtMs(raw.P50) + " / " + fmtMs(cor.P50)},
			{"p90 raw / corrected", fmtMs(raw.P90) + " / " + fmtMs(cor.P90)},
			{"p99 raw / corrected", fmtMs(raw.P99) + " / " + fmtMs(cor.P99)},
			{"max raw / corrected", fmtMs(raw.Max) + " / " + fmtMs(cor.Max)},
			{"status codes", statusCodes(rep.StatusCodes)},
		},
	}
}

// OverTimeChart is latency over time (p50, p99, corrected p99 per interval).
func OverTimeChart(rep *Report) report.Chart {
	c := report.Chart{Title: "Latency over time", XLabel: "seconds since start", YLabel: "latency (ms)"}
	var p50, p99, cor []report.Point
	step := time.Second
	if len(rep.Series) > 1 {
		step = rep.Series[1].Offset - rep.Series[0].Offset
	}
	for _, iv := range rep.Series {
		if iv.Requests == 0 {
			continue
		}
		x := (iv.Offset + step/2).Seconds()
		p50 = append(p50, report.Point{X: x, Y: ms(iv.P50)})
		p99 = append(p99, report.Point{X: x, Y: ms(iv.P99)})
		cor = append(cor, report.Point{X: x, Y: ms(iv.Corrected)})
	}
	c.Series = []report.Series{{Name: "p50", Points: p50}, {Name: "p99", Points: p99}, {Name: "corrected p99", Points: cor}}
	return c
}

// HistogramChart is the corrected latency distribution.
func HistogramChart(rep *Report) report.Chart {
	c := report.Chart{Title: "Corrected latency histogram", XLabel: "latency (ms, log buckets)", YLabel: "requests", Bars: true}
	var pts []report.Point
	for i, b := range rep.CorrectedHistogram(40) {
		pts = append(pts, report.Point{X: float64(i), Y: float64(b.Count)})
		c.XTicks = append(c.XTicks, fmt.Sprintf("%.3g", ms(b.From)))
	}
	c.Series = []report.Series{{Name: "requests", Points: pts}}
	return c
}

// AttackPage is the HTML report of one attack.
func AttackPage(title string, rep *Report) report.Page {
	p := report.Page{Title: title, Tables: []report.Table{SummaryTable("Summary", rep)}}
	if len(rep.Series) > 0 {
		p.Charts = append(p.Charts, OverTimeChart(rep))
	}
	p.Charts = append(p.Charts, HistogramChart(rep))
	return p
}

// ScenarioPage is the HTML report of a scenario run.
func ScenarioPage(title string, res *ScenarioResult) report.Page {
	p := AttackPage(title, res.Total)
	p.Tables = append(p.Tables, ScenarioTables(res)...)
	return p
}
