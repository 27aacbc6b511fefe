package report

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Point is one (x, y) sample of a chart series.
type Point struct{ X, Y float64 }

// Series is one line (or the bars) of a chart.
type Series struct {
	Name   string
	Points []Point
}

// Chart is a line or bar chart drawn server-side as inline SVG: no JavaScript, no network.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	// Bars draws the first series as bars whose x values are bucket labels (XTicks).
	Bars bool
	// XTicks labels bars; ignored for line charts.
	XTicks []string
}

const (
	svgW, svgH                     = 760, 320
	padL, padR, padT, padB         = 70, 20, 34, 58
	plotW, plotH                   = svgW - padL - padR, svgH - padT - padB
	svgFont                        = `font-family="sans-serif" font-size="12"`
	svgAxis, svgGrid, svgTextColor = "#333", "#ddd", "#222"
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"}

// SVG renders the chart.
func (c Chart) SVG() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		svgW, svgH, svgW, svgH, html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="20" %s font-size="14" font-weight="bold" fill="%s">%s</text>`, padL, svgFont, svgTextColor, html.EscapeString(c.Title))
	xmin, xmax, ymax := c.bounds()
	yticks := niceTicks(0, ymax, 5)
	ytop := yticks[len(yticks)-1]
	sx := func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*plotW }
	sy := func(y float64) float64 { return padT + plotH - y/ytop*plotH }
	for _, t := range yticks {
		y := sy(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, padL, y, padL+plotW, y, svgGrid)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end" fill="%s">%s</text>`, padL-6, y+4, svgFont, svgTextColor, fmtNum(t))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`, padL, padT+plotH, padL+plotW, padT+plotH, svgAxis)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`, padL, padT, padL, padT+plotH, svgAxis)
	if c.Bars {
		c.drawBars(&b, sy)
	} else {
		for _, t := range niceTicks(xmin, xmax, 6) {
			if t < xmin || t > xmax {
				continue
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle" fill="%s">%s</text>`, sx(t), padT+plotH+16, svgFont, svgTextColor, fmtNum(t))
		}
		for i, s := range c.Series {
			color := palette[i%len(palette)]
			var pts []string
			for _, p := range s.Points {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(p.X), sy(p.Y)))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
			for _, p := range s.Points {
				if len(s.Points) <= 40 {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, sx(p.X), sy(p.Y), color)
				}
			}
			lx := padL + 10 + i*150
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" %s fill="%s">%s</text>`,
				lx, svgH-16, color, lx+16, svgH-6, svgFont, svgTextColor, html.EscapeString(s.Name))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle" fill="%s">%s</text>`, padL+plotW/2, padT+plotH+34, svgFont, svgTextColor, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(16,%d) rotate(-90)" %s text-anchor="middle" fill="%s">%s</text>`, padT+plotH/2, svgFont, svgTextColor, html.EscapeString(c.YLabel))
	b.WriteString(`</svg>`)
	return b.String()
}

func (c Chart) drawBars(b *strings.Builder, sy func(float64) float64) {
	if len(c.Series) == 0 || len(c.Series[0].Points) == 0 {
		return
	}
	pts := c.Series[0].Points
	w := float64(plotW) / float64(len(pts))
	every := max(len(pts)/8, 1)
	for i, p := range pts {
		x := padL + float64(i)*w
		y := sy(p.Y)
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x+1, y, math.Max(w-2, 1), padT+plotH-y, palette[0])
		if i%every == 0 && i < len(c.XTicks) {
			fmt.Fprintf(b, `<text x="%.1f" y="%d" %s text-anchor="middle" fill="%s">%s</text>`, x+w/2, padT+plotH+16, svgFont, svgTextColor, html.EscapeString(c.XTicks[i]))
		}
	}
}

func (c Chart) bounds() (xmin, xmax, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			xmin, xmax, ymax = math.Min(xmin, p.X), math.Max(xmax, p.X), math.Max(ymax, p.Y)
		}
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax = 0, 1
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	if ymax <= 0 {
		ymax = 1
	}
	return xmin, xmax, ymax
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for t := math.Floor(lo/step) * step; ; t += step {
		ticks = append(ticks, t)
		if t >= hi-step*1e-9 {
			break
		}
	}
	return ticks
}

func fmtNum(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
