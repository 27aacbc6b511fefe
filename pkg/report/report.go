// Package report draws self-contained HTML reports: tables and charts rendered server-side as
// inline SVG, with no script and no network access, so a report opens offline and can be mailed
// or archived as one file. pkg/load's attack and scenario pages and the sandbox's demo report are
// built from it.
//
// It is written here rather than on a charting library because the ones served to us either load
// their JavaScript from a remote host (go-echarts) or draw raster images and pull in a large font
// and drawing stack (gonum/plot) for a handful of line and bar charts.
package report

import (
	"html/template"
	"io"
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
