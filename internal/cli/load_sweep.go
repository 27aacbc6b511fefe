package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/load"
	"github.com/trafficctl/trafficctl/pkg/report"
)

var (
	loadSweepShort = "Latency percentiles against the request rate, or against the number of connections"
	loadSweepLong  = `Run one probe per rate (--rates) or one per connection count (--connections N1,N2,... at a
fixed --rate) and report latency percentiles, raw and corrected, for each: where latency bends is
where the bottleneck starts.`
	loadSweepExample = `  trafficctl load sweep http://127.0.0.1:8080/ --rates 100,200,400,800 --duration 10s
  trafficctl load sweep http://127.0.0.1:8080/ --connections 1,2,4,8,16,32,64 --rate 2000/s -o html > sweep.html`
)

type loadSweepOptions struct {
	probeOptions
	rates string
	conns string
	rate  string

	rateList  []float64
	connsList []int
	byConns   bool
}

func newLoadSweepCommand(f *Factory) *cobra.Command {
	o := &loadSweepOptions{probeOptions: probeOptions{IOStreams: f.Streams}}
	cmd := newCommand("sweep URL (--rates R1,R2,... [--connections N] | --connections N1,N2,... --rate R)", loadSweepShort, loadSweepLong, loadSweepExample, cobra.ExactArgs(1), o)
	o.flags.add(cmd, false)
	cmd.Flags().StringVar(&o.rates, "rates", "", "rates to probe, e.g. 100,200,400 (each like --rate: 100 or 100/s)")
	cmd.Flags().StringVar(&o.conns, "connections", "", "with --rates: the fixed connection count; with --rate: the counts to probe, e.g. 1,2,4,8")
	cmd.Flags().StringVar(&o.rate, "rate", "", "the fixed rate of a connections sweep")
	return cmd
}

func (o *loadSweepOptions) Validate() error {
	args := o.args
	var err error
	switch {
	case o.rates != "" && o.rate == "":
		if o.rateList, err = parseRates(o.rates); err != nil {
			return err
		}
		o.connsList = []int{0}
		if o.conns != "" {
			if o.connsList, err = parseInts("connections", o.conns); err != nil {
				return err
			}
			if len(o.connsList) != 1 {
				return usageErrorf("a rate sweep takes one --connections value; sweep connections with --rate instead of --rates")
			}
		}
	case o.conns != "" && o.rates == "":
		if o.rate == "" {
			return usageErrorf("a connections sweep needs --rate, e.g. --rate 1000/s")
		}
		r, err := load.ParseRate(o.rate)
		if err != nil {
			return usageErrorf("invalid --rate: %w", err)
		}
		o.rateList = []float64{load.PerSecond(r)}
		if o.connsList, err = parseInts("connections", o.conns); err != nil {
			return err
		}
		o.byConns = true
	default:
		return usageErrorf("give either --rates R1,R2,... or --connections N1,N2,... with --rate R")
	}
	o.ts, err = o.flags.targets(args, "")
	return err
}

func (o *loadSweepOptions) Run(ctx context.Context) error {
	if err := checkReachable(ctx, o.ts.URL(0), o.flags.timeout); err != nil {
		return err
	}
	probes, err := load.Sweep(ctx, o.flags.prober(o.ts), o.rateList, o.connsList)
	interrupted := errors.Is(err, context.Canceled)
	if err != nil && !interrupted {
		return err
	}
	x, xlabel := func(p *load.Probe) float64 { return p.Rate }, "requests per second"
	what := "rate"
	if o.byConns {
		x, xlabel, what = func(p *load.Probe) float64 { return float64(p.Connections) }, "connections", "connections"
	}
	title := fmt.Sprintf("trafficctl load sweep %s by %s", o.ts.URL(0), what)
	table := load.ProbeTable("Sweep by "+what, probes, false)
	switch formatKind(o.flags.format) {
	case outputJSON:
		err = printObject(o.Out, o.flags.format, map[string]any{"by": what, "probes": probes})
	case outputHTML:
		err = report.WriteHTML(o.Out, report.Page{Title: title, Tables: []report.Table{table}, Charts: []report.Chart{
			load.LatencyChart("Latency vs "+what, xlabel, probes, x),
			load.ThroughputChart("Throughput vs "+what, xlabel, probes, x),
		}})
	default:
		table.Title = ""
		err = load.WriteTable(o.Out, table)
	}
	if err != nil {
		return err
	}
	if interrupted {
		return fmt.Errorf("sweep interrupted after %d probes: the report is partial", len(probes))
	}
	return nil
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		r, err := load.ParseRate(f)
		if err != nil {
			return nil, usageErrorf("invalid --rates: %w", err)
		}
		out = append(out, load.PerSecond(r))
	}
	return out, nil
}

func parseInts(flag, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, usageErrorf("invalid --%s %q: use positive integers separated by commas, e.g. 1,2,4,8", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}
