package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/trafficctl/trafficctl/pkg/load"
	"github.com/trafficctl/trafficctl/pkg/report"
)

// progressFunc returns a callback printing a one-line progress on w when w is a terminal and
// the run is long enough to want one, and a func ending the line.
func progressFunc(w io.Writer, total time.Duration) (func(load.Progress), func()) {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok || total <= 2*time.Second || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	printed := false
	return func(p load.Progress) {
			printed = true
			fmt.Fprintf(w, "\r%s/%s  %d requests  %d errors  %d late   ",
				p.Elapsed.Truncate(time.Second), total, p.Requests, p.Errors, p.LateSends)
		}, func() {
			if printed {
				fmt.Fprint(w, "\r\033[K")
			}
		}
}

// addFormatFlag registers -o/--format: the report format (--output names a results file).
func addFormatFlag(cmd *cobra.Command, target *string) {
	allowed := []string{outputText, outputJSON, outputHTML}
	cmd.Flags().StringVarP(target, "format", "o", outputText, outputFlagHelp("report format", allowed))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}

// validateFormat checks -o/--format; a jsonpath template's own error names the template.
func validateFormat(format string) error {
	err := validateOutput(format, outputText, outputJSON, outputHTML)
	if err != nil && formatKind(format) != outputJSON {
		return usageErrorf("invalid value %q for -o/--format: use one of %v", format, []string{outputText, outputJSON, outputHTML})
	}
	return err
}

func writeReport(w io.Writer, format, title string, rep *load.Report) error {
	switch formatKind(format) {
	case outputJSON:
		return printObject(w, format, rep)
	case outputHTML:
		return report.WriteHTML(w, load.AttackPage(title, rep))
	default:
		return load.WriteText(w, rep)
	}
}

func writeCapacity(w io.Writer, format, url string, res *load.CapacityResult) error {
	table := load.ProbeTable("Probes", res.Probes, true)
	rateX := func(p *load.Probe) float64 { return p.Rate }
	verdict := fmt.Sprintf("max rate %g/s under %s", res.MaxRate, res.SLO)
	if res.FirstFailing > 0 {
		verdict += fmt.Sprintf("; %g/s breached it", res.FirstFailing)
	}
	if res.GeneratorLimited {
		verdict += "; the generator fell behind (late sends or short rate): the figure is a floor, not the target's capacity"
	} else {
		verdict += "; the generator kept its schedule"
	}
	switch formatKind(format) {
	case outputJSON:
		return printObject(w, format, res)
	case outputHTML:
		return report.WriteHTML(w, report.Page{
			Title:  "trafficctl load capacity " + url,
			Tables: []report.Table{{Title: "Verdict", Rows: [][]string{{verdict}}}, table},
			Charts: []report.Chart{load.LatencyChart("Latency vs rate", "requests per second", sortedByRate(res.Probes), rateX),
				load.ThroughputChart("Throughput vs rate", "requests per second", sortedByRate(res.Probes), rateX)},
		})
	default:
		if _, err := fmt.Fprintln(w, verdict); err != nil {
			return err
		}
		return load.WriteTable(w, table)
	}
}

func sortedByRate(ps []*load.Probe) []*load.Probe {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b *load.Probe) int { return cmp.Compare(a.Rate, b.Rate) })
	return out
}

func titled(c report.Chart, title string) report.Chart {
	c.Title = title
	return c
}

// checkReachable fails fast, with a clear error, when the first target refuses connections.
func checkReachable(ctx context.Context, rawURL string, timeout time.Duration) error {
	if timeout <= 0 || timeout > 5*time.Second {
		timeout = 5 * time.Second
	}
	if !strings.HasPrefix(rawURL, "http://") && !strings.HasPrefix(rawURL, "https://") {
		// A gRPC target (validated already): a TCP connect, as its method may come from
		// --proto files and no call is made before the attack.
		u, err := url.Parse(rawURL)
		if err != nil {
			return usageErrorf("invalid URL %q: %w", rawURL, err)
		}
		conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return fmt.Errorf("target %s is unreachable: %w; check the URL and that the service is up", rawURL, err)
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, rawURL, nil)
	if err != nil {
		return usageErrorf("invalid URL %q: %w", rawURL, err)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("target %s is unreachable: %w; check the URL and that the service is up", rawURL, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}
