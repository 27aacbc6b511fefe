package load

import (
	"fmt"
	"html/template"
	"io"
	"time"
)

// Table is a titled grid of cells for the HTML and text reports.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
}

// Page is a self-contained HTML report: tables and inline SVG charts, no script, no network.
type Page struct {
	Title  string
	Tables []Table
	Charts []Chart
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	// Every text in the SVG is escaped when it is built.
	"svg": func(c Chart) template.HTML { return template.HTML(c.SVG()) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:right;font-size:13px}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:16px 0}
</style></head>
<body>
<h1>{{.Title}}</h1>
{{range .Tables}}<h2>{{.Title}}</h2>
<table>{{if .Header}}<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>{{end}}
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{range .Charts}}<figure>{{svg .}}</figure>
{{end}}</body></html>
`))

// WriteHTML renders p.
func WriteHTML(w io.Writer, p Page) error {
	return pageTmpl.Execute(w, p)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.2f ms", ms(d)) }

// SummaryTable is the main figures of rep as a table.
func SummaryTable(title string, rep *Report) Table {
	raw, cor := rep.RawLatencies, rep.CorrectedLatencies
	return Table{
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
func OverTimeChart(rep *Report) Chart {
	c := Chart{Title: "Latency over time", XLabel: "seconds since start", YLabel: "latency (ms)"}
	var p50, p99, cor []Point
	step := time.Second
	if len(rep.Series) > 1 {
		step = rep.Series[1].Offset - rep.Series[0].Offset
	}
	for _, iv := range rep.Series {
		if iv.Requests == 0 {
			continue
		}
		x := (iv.Offset + step/2).Seconds()
		p50 = append(p50, Point{x, ms(iv.P50)})
		p99 = append(p99, Point{x, ms(iv.P99)})
		cor = append(cor, Point{x, ms(iv.Corrected)})
	}
	c.Series = []Series{{"p50", p50}, {"p99", p99}, {"corrected p99", cor}}
	return c
}

// HistogramChart is the corrected latency distribution.
func HistogramChart(rep *Report) Chart {
	c := Chart{Title: "Corrected latency histogram", XLabel: "latency (ms, log buckets)", YLabel: "requests", Bars: true}
	var pts []Point
	for i, b := range rep.CorrectedHistogram(40) {
		pts = append(pts, Point{float64(i), float64(b.Count)})
		c.XTicks = append(c.XTicks, fmt.Sprintf("%.3g", ms(b.From)))
	}
	c.Series = []Series{{"requests", pts}}
	return c
}

// AttackPage is the HTML report of one attack.
func AttackPage(title string, rep *Report) Page {
	p := Page{Title: title, Tables: []Table{SummaryTable("Summary", rep)}}
	if len(rep.Series) > 0 {
		p.Charts = append(p.Charts, OverTimeChart(rep))
	}
	p.Charts = append(p.Charts, HistogramChart(rep))
	return p
}

// ScenarioPage is the HTML report of a scenario run.
func ScenarioPage(title string, res *ScenarioResult) Page {
	p := AttackPage(title, res.Total)
	p.Tables = append(p.Tables, ScenarioTables(res)...)
	return p
}
