package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/load"
	"github.com/trafficctl/trafficctl/pkg/report"
)

// probeFlags are shared by sweep and capacity: one target and a probe duration.
type probeFlags struct {
	attackFlags
	duration time.Duration
	pause    time.Duration
	format   string
}

func (p *probeFlags) add(cmd *cobra.Command, du time.Duration, connectionsFlag bool) {
	if connectionsFlag {
		p.attackFlags.add(cmd.Flags())
	} else {
		p.addRequest(cmd.Flags())
	}
	cmd.Flags().DurationVar(&p.duration, "duration", du, "how long each probe attacks")
	cmd.Flags().DurationVar(&p.pause, "pause", 500*time.Millisecond, "pause between probes so the target drains")
	addFormatFlag(cmd, &p.format)
}

func (p *probeFlags) complete() error {
	if err := p.attackFlags.complete(); err != nil {
		return err
	}
	if p.duration <= 0 {
		return usageErrorf("invalid --duration %s: must be positive", p.duration)
	}
	if p.pause < 0 || p.pause > maxFlagDuration {
		return usageErrorf("invalid --pause %s: must be within 0s..%s", p.pause, maxFlagDuration)
	}
	return validateFormat(p.format)
}

func (p *probeFlags) prober(ts *load.TargetSet) load.Prober {
	return load.NewProber(p.attacker, ts, p.duration, p.pause)
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

type loadSweepOptions struct {
	f     *Factory
	flags probeFlags
	rates string
	conns string
	rate  string

	ts        *load.TargetSet
	rateList  []float64
	connsList []int
	byConns   bool
}

func newLoadSweepCommand(f *Factory) *cobra.Command {
	o := &loadSweepOptions{f: f}
	cmd := &cobra.Command{
		Use:   "sweep URL (--rates R1,R2,... [--connections N] | --connections N1,N2,... --rate R)",
		Short: "Latency percentiles against the request rate, or against the number of connections",
		Long: `Run one probe per rate (--rates) or one per connection count (--connections N1,N2,... at a
fixed --rate) and report latency percentiles, raw and corrected, for each: where latency bends is
where the bottleneck starts.`,
		Example: `  trafficctl load sweep http://127.0.0.1:8080/ --rates 100,200,400,800 --duration 10s
  trafficctl load sweep http://127.0.0.1:8080/ --connections 1,2,4,8,16,32,64 --rate 2000/s -o html > sweep.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.flags.add(cmd, 5*time.Second, false)
	cmd.Flags().StringVar(&o.rates, "rates", "", "rates to probe, e.g. 100,200,400 (each like --rate: 100 or 100/s)")
	cmd.Flags().StringVar(&o.conns, "connections", "", "with --rates: the fixed connection count; with --rate: the counts to probe, e.g. 1,2,4,8")
	cmd.Flags().StringVar(&o.rate, "rate", "", "the fixed rate of a connections sweep")
	return cmd
}

func (o *loadSweepOptions) Complete(args []string) error {
	if err := o.flags.complete(); err != nil {
		return err
	}
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
	switch o.flags.format {
	case outputJSON:
		err = printStructured(o.f.Streams.Out, outputJSON, map[string]any{"by": what, "probes": probes})
	case outputHTML:
		err = report.WriteHTML(o.f.Streams.Out, report.Page{Title: title, Tables: []report.Table{table}, Charts: []report.Chart{
			load.LatencyChart("Latency vs "+what, xlabel, probes, x),
			load.ThroughputChart("Throughput vs "+what, xlabel, probes, x),
		}})
	default:
		table.Title = ""
		err = load.WriteTable(o.f.Streams.Out, table)
	}
	if err != nil {
		return err
	}
	if interrupted {
		return fmt.Errorf("sweep interrupted after %d probes: the report is partial", len(probes))
	}
	return nil
}

type loadCapacityOptions struct {
	f          *Factory
	flags      probeFlags
	sloP99     time.Duration
	minSuccess float64
	start      string
	maxRate    string
	precision  float64

	ts   *load.TargetSet
	opts load.CapacityOptions
}

func newLoadCapacityCommand(f *Factory) *cobra.Command {
	o := &loadCapacityOptions{f: f}
	cmd := &cobra.Command{
		Use:   "capacity URL --slo-p99 100ms [--min-success 99.9]",
		Short: "Find the highest sustainable rate under an SLO (exponential search, then bisection)",
		Long: `Find the highest request rate the target sustains under an SLO on the corrected p99 latency
and the success ratio: double the rate from --start until a probe breaches the SLO, then bisect
between the last pass and the first breach until they are within --precision (2 %).

The report says whether the generator itself was the limit (probes that sent late or short of
their rate): then the figure is a floor, not the target's capacity. Exit 3 when not even the
starting rate meets the SLO.`,
		Example: `  trafficctl load capacity http://127.0.0.1:8080/ --slo-p99 100ms --min-success 99.9
  trafficctl load capacity http://127.0.0.1:8080/ --slo-p99 50ms --connections 16 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.flags.add(cmd, 5*time.Second, true)
	cmd.Flags().DurationVar(&o.sloP99, "slo-p99", 0, "highest acceptable corrected p99 latency (required)")
	cmd.Flags().Float64Var(&o.minSuccess, "min-success", 99.9, "lowest acceptable success ratio, in percent")
	cmd.Flags().StringVar(&o.start, "start", "50/s", "first rate probed")
	cmd.Flags().StringVar(&o.maxRate, "max-rate", "100000/s", "highest rate probed")
	cmd.Flags().Float64Var(&o.precision, "precision", 0.02, "stop bisecting when the bounds are this close (0.02: 2 %)")
	return cmd
}

func (o *loadCapacityOptions) Complete(args []string) error {
	if err := o.flags.complete(); err != nil {
		return err
	}
	if o.sloP99 <= 0 {
		return usageErrorf("--slo-p99 is required and must be positive, e.g. --slo-p99 100ms")
	}
	if o.minSuccess < 0 || o.minSuccess > 100 {
		return usageErrorf("invalid --min-success %g: a percentage between 0 and 100", o.minSuccess)
	}
	if o.precision <= 0 || o.precision >= 1 {
		return usageErrorf("invalid --precision %g: between 0 and 1, e.g. 0.02", o.precision)
	}
	start, err := load.ParseRate(o.start)
	if err != nil {
		return usageErrorf("invalid --start: %w", err)
	}
	maxRate, err := load.ParseRate(o.maxRate)
	if err != nil {
		return usageErrorf("invalid --max-rate: %w", err)
	}
	if load.PerSecond(maxRate) < load.PerSecond(start) {
		return usageErrorf("--max-rate %s is below --start %s", o.maxRate, o.start)
	}
	o.opts = load.CapacityOptions{
		SLO:   load.SLO{P99: o.sloP99, MinSuccess: o.minSuccess},
		Start: load.PerSecond(start), MaxRate: load.PerSecond(maxRate), Precision: o.precision,
		Connections: o.flags.connections,
	}
	o.ts, err = o.flags.targets(args, "")
	return err
}

func (o *loadCapacityOptions) Run(ctx context.Context) error {
	if err := checkReachable(ctx, o.ts.URL(0), o.flags.timeout); err != nil {
		return err
	}
	res, err := load.Capacity(ctx, o.flags.prober(o.ts), o.opts)
	never := errors.Is(err, load.ErrSLONeverMet)
	interrupted := errors.Is(err, context.Canceled)
	if err != nil && !never && !interrupted {
		return err
	}
	if werr := writeCapacity(o.f.Streams.Out, o.flags.format, o.ts.URL(0), res); werr != nil {
		return werr
	}
	switch {
	case never:
		return withExitCode(ExitCheckFailed, fmt.Errorf("%w; lower --start or relax the SLO", err))
	case interrupted:
		return fmt.Errorf("capacity search interrupted after %d probes: the result is partial", len(res.Probes))
	}
	return nil
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
	switch format {
	case outputJSON:
		return printStructured(w, outputJSON, res)
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
