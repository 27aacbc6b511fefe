package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/load"
)

var (
	loadCapacityShort = "Find the highest sustainable rate under an SLO (exponential search, then bisection)"
	loadCapacityLong  = `Find the highest request rate the target sustains under an SLO on the corrected p99 latency
and the success ratio: double the rate from --start until a probe breaches the SLO, then bisect
between the last pass and the first breach until they are within --precision (2 %).

The report says whether the generator itself was the limit (probes that sent late or short of
their rate): then the figure is a floor, not the target's capacity. Exit 3 when not even the
starting rate meets the SLO.`
	loadCapacityExample = `  trafficctl load capacity http://127.0.0.1:8080/ --slo-p99 100ms --min-success 99.9
  trafficctl load capacity http://127.0.0.1:8080/ --slo-p99 50ms --connections 16 -o json`
)

type loadCapacityOptions struct {
	probeOptions
	sloP99     time.Duration
	minSuccess float64
	start      string
	maxRate    string
	precision  float64

	opts load.CapacityOptions
}

func newLoadCapacityCommand(f *Factory) *cobra.Command {
	o := &loadCapacityOptions{probeOptions: probeOptions{IOStreams: f.Streams}}
	cmd := newCommand("capacity URL --slo-p99 100ms [--min-success 99.9]", loadCapacityShort, loadCapacityLong, loadCapacityExample, cobra.ExactArgs(1), o)
	o.flags.add(cmd, true)
	cmd.Flags().DurationVar(&o.sloP99, "slo-p99", 0, "highest acceptable corrected p99 latency (required)")
	cmd.Flags().Float64Var(&o.minSuccess, "min-success", 99.9, "lowest acceptable success ratio, in percent")
	cmd.Flags().StringVar(&o.start, "start", "50/s", "first rate probed")
	cmd.Flags().StringVar(&o.maxRate, "max-rate", "100000/s", "highest rate probed")
	cmd.Flags().Float64Var(&o.precision, "precision", 0.02, "stop bisecting when the bounds are this close (0.02: 2 %)")
	return cmd
}

func (o *loadCapacityOptions) Validate() error {
	args := o.args
	if o.sloP99 <= 0 {
		return usageErrorf("--slo-p99 is required and must be positive, e.g. --slo-p99 100ms")
	}
	if err := validateSLOFlags(o.minSuccess, o.precision); err != nil {
		return err
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
	if werr := writeCapacity(o.Out, o.flags.format, o.ts.URL(0), res); werr != nil {
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
