package topology

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// WriteTable prints one line per edge, then the highlights.
func WriteTable(w io.Writer, g *Graph) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tAUTHORITY\tRPS\tSHARE\tSUCCESS\tP50\tP99\tMTLS")
	for _, e := range g.Edges {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\n", nodeName(g, e.From), nodeName(g, e.To), orDash(e.Authority),
			e.RPS, pct(e.Share), pct(e.SuccessRate), ms(e.P50), ms(e.P99), yesNo(e.MTLS))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range Highlights(g) {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// Highlights are the lines worth a reader's attention: the slowest and least healthy edges and
// every plaintext edge.
func Highlights(g *Graph) []string {
	var out []string
	if g.Slowest >= 0 {
		e := g.Edges[g.Slowest]
		out = append(out, fmt.Sprintf("slowest edge: %s -> %s (p99 %s)", nodeName(g, e.From), nodeName(g, e.To), ms(e.P99)))
	}
	if g.LeastHealthy >= 0 && g.Edges[g.LeastHealthy].SuccessRate < 1 {
		e := g.Edges[g.LeastHealthy]
		out = append(out, fmt.Sprintf("least healthy edge: %s -> %s (success %s)", nodeName(g, e.From), nodeName(g, e.To), pct(e.SuccessRate)))
	}
	for _, e := range g.Plaintext() {
		out = append(out, fmt.Sprintf("PLAINTEXT edge: %s -> %s is not mutually authenticated: mesh both workloads", nodeName(g, e.From), nodeName(g, e.To)))
	}
	return out
}

// WriteDot prints the graph in Graphviz's dot language.
func WriteDot(w io.Writer, g *Graph) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", g.Namespace)
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  %q [label=%q];\n", n.ID(), nodeName(g, n))
	}
	for i, e := range g.Edges {
		attrs := fmt.Sprintf("label=%q", edgeLabel(e))
		if c := edgeColor(g, i); c != "" {
			attrs += fmt.Sprintf(", color=%q, fontcolor=%q", c, c)
		}
		if !e.MTLS {
			attrs += ", style=dashed"
		}
		fmt.Fprintf(&b, "  %q -> %q [%s];\n", e.From.ID(), e.To.ID(), attrs)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

const (
	colorPlaintext = "#d62728"
	colorUnhealthy = "#ff7f0e"
	colorSlow      = "#9467bd"
	colorNormal    = "#4c72b0"
)

// edgeColor marks plaintext, least healthy (when below 100 %) and slowest edges.
func edgeColor(g *Graph, i int) string {
	switch e := g.Edges[i]; {
	case !e.MTLS:
		return colorPlaintext
	case i == g.LeastHealthy && e.SuccessRate < 1:
		return colorUnhealthy
	case i == g.Slowest && len(g.Edges) > 1:
		return colorSlow
	}
	return ""
}

func edgeLabel(e Edge) string {
	l := fmt.Sprintf("%.1f rps, %s ok, p99 %s", e.RPS, pct(e.SuccessRate), ms(e.P99))
	if e.Share < 1 {
		l += fmt.Sprintf(", %s of %s", pct(e.Share), e.Authority)
	}
	if !e.MTLS {
		l += ", PLAINTEXT"
	}
	return l
}

// shortLabel fits on a drawn edge; the tooltip and the table carry the rest.
func shortLabel(e Edge) string {
	l := fmt.Sprintf("%.1f rps · %s ok · p99 %s", e.RPS, pct(e.SuccessRate), ms(e.P99))
	if e.Share < 1 {
		l += " · " + pct(e.Share) + " share"
	}
	return l
}

// layout places nodes in columns by their distance from the graph's entry points.
func layout(g *Graph) (map[string][2]float64, float64, float64) {
	layer := map[string]int{}
	for _, n := range g.Nodes {
		layer[n.ID()] = 0
	}
	// Longest-path layering; the bound stops cycles from looping forever.
	for range g.Nodes {
		changed := false
		for _, e := range g.Edges {
			if f, t := layer[e.From.ID()], layer[e.To.ID()]; t < f+1 && f+1 < len(g.Nodes) {
				layer[e.To.ID()] = f + 1
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	rows := map[int]int{}
	pos := map[string][2]float64{}
	maxLayer, maxRows := 0, 0
	for _, n := range g.Nodes {
		l := layer[n.ID()]
		pos[n.ID()] = [2]float64{40 + float64(l)*colGap, 50 + float64(rows[l])*110}
		rows[l]++
		maxLayer, maxRows = max(maxLayer, l), max(maxRows, rows[l])
	}
	return pos, 40 + float64(maxLayer)*colGap + nodeW + 40, 60 + float64(maxRows)*110
}

const nodeW, nodeH, colGap = 190.0, 44.0, 420.0

// WriteSVG draws the graph as a standalone SVG image.
func WriteSVG(w io.Writer, g *Graph) error {
	pos, width, height := layout(g)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="12" markerHeight="12" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	for i, e := range g.Edges {
		from, to := pos[e.From.ID()], pos[e.To.ID()]
		x1, y1 := from[0]+nodeW, from[1]+nodeH/2
		x2, y2 := to[0], to[1]+nodeH/2
		if to[0] <= from[0] { // back edge or same column: route below
			x2, y2 = to[0]+nodeW/2, to[1]+nodeH
		}
		color := edgeColor(g, i)
		if color == "" {
			color = colorNormal
		}
		dash := ""
		if !e.MTLS {
			dash = ` stroke-dasharray="6 4"`
		}
		strokeW := 1.5 + 4*math.Max(0, math.Min(1, e.Share))
		fmt.Fprintf(&b, `<line class="edge" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s marker-end="url(#arrow)"><title>%s</title></line>`+"\n",
			x1, y1, x2, y2, color, strokeW, dash, html.EscapeString(nodeName(g, e.From)+" -> "+nodeName(g, e.To)+": "+edgeLabel(e)))
		// A white halo keeps the label readable where it crosses other lines.
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s" stroke="#ffffff" stroke-width="4" paint-order="stroke">%s</text>`+"\n",
			(x1+x2)/2, (y1+y2)/2-6, color, html.EscapeString(shortLabel(e)))
	}
	for _, n := range g.Nodes {
		p := pos[n.ID()]
		fmt.Fprintf(&b, `<g class="node"><rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" rx="8" fill="#eef3fb" stroke="#4c72b0"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text></g>`+"\n",
			p[0], p[1], nodeW, nodeH, p[0]+nodeW/2, p[1]+nodeH/2+4, html.EscapeString(nodeName(g, n)))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHTML writes a self-contained page (inline SVG, no scripts, no network) with the graph,
// the highlights and the edge table.
func WriteHTML(w io.Writer, g *Graph) error {
	var svg, table strings.Builder
	if err := WriteSVG(&svg, g); err != nil {
		return err
	}
	if err := WriteTable(&table, g); err != nil {
		return err
	}
	var hl strings.Builder
	for _, l := range Highlights(g) {
		fmt.Fprintf(&hl, "<li>%s</li>\n", html.EscapeString(l))
	}
	_, err := fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>trafficctl topology: %[1]s</title>
<style>body{font-family:sans-serif;margin:24px;color:#222} pre{background:#f6f6f6;padding:12px;overflow:auto} .legend span{margin-right:18px}</style>
</head><body>
<h1>Service topology of namespace %[1]s</h1>
<p>Traffic over the last %[2]s, as the clients' Linkerd proxies saw it.</p>
<p class="legend"><span style="color:%[6]s">&#9632; plaintext (dashed)</span><span style="color:%[7]s">&#9632; least healthy</span><span style="color:%[8]s">&#9632; slowest</span><span style="color:%[9]s">&#9632; mTLS</span></p>
%[3]s
<h2>Highlights</h2><ul>%[4]s</ul>
<h2>Edges</h2><pre>%[5]s</pre>
</body></html>
`, html.EscapeString(g.Namespace), g.Window, svg.String(), hl.String(), html.EscapeString(table.String()),
		colorPlaintext, colorUnhealthy, colorSlow, colorNormal)
	return err
}

// nodeName shows the namespace only for nodes outside the graph's namespace.
func nodeName(g *Graph, n Node) string {
	if n.Namespace != g.Namespace {
		return n.Namespace + "/" + n.Label()
	}
	return n.Label()
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

func ms(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.0fms", v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
