package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trafficctl/trafficctl/pkg/load"
	"github.com/trafficctl/trafficctl/pkg/report"
)

type loadCompareOptions struct {
	f          *Factory
	flags      probeFlags
	baseline   string
	target     string
	rate       string
	rounds     int
	sloP99     time.Duration
	minSuccess float64
	maxRate    string
	precision  float64

	pacer        vegeta.Rate
	maxRatePS    float64
	baseTS, tgTS *load.TargetSet
}

func newLoadCompareCommand(f *Factory) *cobra.Command {
	o := &loadCompareOptions{f: f}
	cmd := &cobra.Command{
		Use:   "compare --baseline URL --target URL",
		Short: "Measure the cost of a path against a baseline at equal load (the mesh tax)",
		Long: `Attack a baseline URL and a target URL at the same rate in alternating rounds (B T, T B, ...)
so that drift of the machine falls on both alike, merge each side's rounds, and report
Δp50, Δp99 and Δmax (target minus baseline).

With --slo-p99 it then runs the capacity search of 'trafficctl load capacity' on each side
(from a quarter of --rate, doubling up to --max-rate, then bisecting to --precision) and
reports the highest rate each sustains under the SLO (corrected p99 and --min-success) and
Δ max rate, target minus baseline: what the path costs in capacity, not only in latency.
A side that meets the SLO at no rate counts as 0/s. Each probe lasts --duration.`,
		Example: `  trafficctl load compare --baseline http://10.0.0.5:8080/ --target http://web.emojivoto:8080/ --rate 1000/s
  trafficctl load compare --baseline URL1 --target URL2 --rate 500/s --rounds 6 --duration 10s --slo-p99 50ms -o json
  trafficctl load compare --baseline URL1 --target URL2 --rate 400/s --slo-p99 100ms --max-rate 5000/s --duration 3s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.flags.add(cmd, 5*time.Second, true)
	cmd.Flags().StringVar(&o.baseline, "baseline", "", "URL of the baseline path (required)")
	cmd.Flags().StringVar(&o.target, "target", "", "URL of the path to compare (required)")
	cmd.Flags().StringVar(&o.rate, "rate", "100/s", "rate of every round")
	cmd.Flags().IntVar(&o.rounds, "rounds", 4, "rounds per side, interleaved")
	cmd.Flags().DurationVar(&o.sloP99, "slo-p99", 0, "also compare the max rate under this corrected p99 (capacity search on both)")
	cmd.Flags().Float64Var(&o.minSuccess, "min-success", 99.9, "success ratio of the max-rate SLO, in percent")
	cmd.Flags().StringVar(&o.maxRate, "max-rate", "100000/s", "highest rate the max-rate search probes")
	cmd.Flags().Float64Var(&o.precision, "precision", 0.02, "stop the max-rate bisection when the bounds are this close (0.02: 2 %)")
	return cmd
}

func (o *loadCompareOptions) Complete() error {
	if err := o.flags.complete(); err != nil {
		return err
	}
	if o.baseline == "" || o.target == "" {
		return usageErrorf("both --baseline and --target are required")
	}
	if o.rounds < 1 {
		return usageErrorf("invalid --rounds %d: must be at least 1", o.rounds)
	}
	var err error
	if o.pacer, err = load.ParseRate(o.rate); err != nil {
		return usageErrorf("invalid --rate: %w", err)
	}
	if o.baseTS, err = o.flags.targets([]string{o.baseline}, ""); err != nil {
		return err
	}
	if o.sloP99 < 0 {
		return usageErrorf("invalid --slo-p99 %s: must be positive, or 0 to skip the max-rate comparison", o.sloP99)
	}
	if o.minSuccess < 0 || o.minSuccess > 100 || inRange(o.minSuccess, 0, 100) != nil {
		return usageErrorf("invalid --min-success %g: a percentage between 0 and 100", o.minSuccess)
	}
	if o.precision <= 0 || o.precision >= 1 || inRange(o.precision, 0, 1) != nil {
		return usageErrorf("invalid --precision %g: between 0 and 1, e.g. 0.02", o.precision)
	}
	maxRate, err := load.ParseRate(o.maxRate)
	if err != nil {
		return usageErrorf("invalid --max-rate: %w", err)
	}
	o.maxRatePS = load.PerSecond(maxRate)
	o.tgTS, err = o.flags.targets([]string{o.target}, "")
	return err
}

func (o *loadCompareOptions) Run(ctx context.Context) error {
	for _, u := range []string{o.baseline, o.target} {
		if err := checkReachable(ctx, u, o.flags.timeout); err != nil {
			return err
		}
	}
	cmp, err := load.Compare(ctx, o.flags.attacker(o.flags.connections), o.baseTS, o.tgTS, o.pacer, o.flags.duration, o.rounds)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("comparison interrupted: no result")
		}
		return err
	}
	tables := []report.Table{cmp.Table()}
	if o.sloP99 > 0 {
		opts := load.CapacityOptions{
			SLO:   load.SLO{P99: o.sloP99, MinSuccess: o.minSuccess},
			Start: min(load.PerSecond(o.pacer)/4, o.maxRatePS), MaxRate: o.maxRatePS, Precision: o.precision,
			Connections: o.flags.connections,
		}
		if cmp.MaxRate, err = load.CompareMaxRate(ctx, o.flags.prober(o.baseTS), o.flags.prober(o.tgTS), opts); err != nil {
			if errors.Is(err, context.Canceled) {
				// The latency comparison took rounds of load to get: keep it.
				if perr := o.print(cmp, tables); perr != nil {
					return perr
				}
				return fmt.Errorf("max-rate search interrupted: the latency comparison is complete, the max rate has no result")
			}
			return err
		}
		tables = append(tables, cmp.MaxRate.Table())
	}
	return o.print(cmp, tables)
}

// print writes the comparison in the chosen format.
func (o *loadCompareOptions) print(cmp *load.Comparison, tables []report.Table) error {
	out := o.f.Streams.Out
	switch o.flags.format {
	case outputJSON:
		return printStructured(out, outputJSON, cmp)
	case outputHTML:
		return report.WriteHTML(out, report.Page{
			Title:  fmt.Sprintf("trafficctl load compare %s vs %s", o.target, o.baseline),
			Tables: tables,
			Charts: []report.Chart{titled(load.OverTimeChart(cmp.Baseline), "Baseline: latency over the rounds"),
				titled(load.OverTimeChart(cmp.Target), "Target: latency over the rounds")},
		})
	default:
		for _, t := range tables {
			if err := load.WriteTable(out, t); err != nil {
				return err
			}
		}
		return nil
	}
}

func titled(c report.Chart, title string) report.Chart {
	c.Title = title
	return c
}
