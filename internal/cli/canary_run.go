package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/canary"
	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

var (
	canaryRunShort = "Run (or resume) a canary rollout in the foreground"
	canaryRunLong  = `Run the rollout the spec describes until it is promoted (exit 0), rolled back or aborted
(exit 3), or held past its deadline (exit 4). Before anything changes it checks that the
Services and Deployments exist, that Prometheus answers and that every query parses. Killed and
started again with the same spec, it resumes at the step it stopped at. Every spec setting is
also a flag: with a FILE the flags override it, without one they are the spec.`
	canaryRunExample = `  trafficctl canary run web-canary.yaml
  trafficctl canary run web-canary.yaml --prometheus http://127.0.0.1:9090 --metrics-addr :9102
  trafficctl canary run --apex web-svc --stable web-v1 --canary web-v2 --prometheus http://127.0.0.1:9090 --gates 50`
)

type canaryRunOptions struct {
	genericiooptions.IOStreams
	f           *Factory
	spec        canarySpecFlags
	metricsAddr string
	promTimeout time.Duration

	canary *canary.Canary
}

func newCanaryRunCommand(f *Factory) *cobra.Command {
	o := &canaryRunOptions{IOStreams: f.Streams, f: f}
	cmd := newCommand("run [FILE]", canaryRunShort, canaryRunLong, canaryRunExample, cobra.MaximumNArgs(1), o)
	o.spec.add(cmd)
	addMetricsAddrFlag(cmd, &o.metricsAddr)
	addPromTimeoutFlag(cmd.Flags(), &o.promTimeout)
	return cmd
}

// addMetricsAddrFlag registers --metrics-addr, shared by canary run and canary controller.
func addMetricsAddrFlag(cmd *cobra.Command, addr *string) {
	cmd.Flags().StringVar(addr, "metrics-addr", "", "serve trafficctl_canary_weight/phase on this address (/metrics)")
}

func (o *canaryRunOptions) Complete(cmd *cobra.Command, args []string) error {
	o.spec.complete(cmd, args)
	return nil
}

func (o *canaryRunOptions) Validate() error {
	if err := checkPromTimeout(o.promTimeout); err != nil {
		return err
	}
	var err error
	o.canary, err = o.spec.build()
	return err
}

func (o *canaryRunOptions) Run(ctx context.Context) error {
	c := o.canary
	cl, err := o.f.Clients()
	if err != nil {
		return err
	}
	ns := c.Namespace(cl.Namespace)
	prom, err := metrics.NewPrometheus(c.Spec.Prometheus, metrics.WithQueryTimeout(o.promTimeout))
	if err != nil {
		return usageErrorf("%v", err)
	}
	router, err := newCanaryRouter(ctx, cl, c.Spec.Router, ns, c.Spec.Apex)
	if err != nil {
		return err
	}
	eng := &canary.Engine{Kube: cl.Kube, Router: router, Provider: prom, Out: o.Out,
		Actor: whoAmI(ctx, cl, "canary run")}
	g, stop, err := serveGauges(o.metricsAddr)
	if err != nil {
		return err
	}
	defer stop()
	eng.Gauges = g
	phase, err := eng.Run(ctx, c, ns)
	return runError(phase, err)
}

// runError maps a rollout's end to the exit-code table.
func runError(phase canary.Phase, err error) error {
	switch {
	case errors.Is(err, canary.ErrPreflight), errors.Is(err, canary.ErrBusy), errors.Is(err, split.ErrInvalid):
		return withExitCode(ExitUsage, fmt.Errorf("%w; nothing was changed", err))
	case errors.Is(err, metrics.ErrBackendDown):
		return fmt.Errorf("%w; nothing was changed", err)
	case err != nil:
		return err
	}
	switch phase {
	case canary.PhasePromoted:
		return nil
	case canary.PhaseDeadlineExceeded:
		return withExitCode(ExitUndecided, errors.New("canary held past its deadline and rolled back: no verdict (see `trafficctl canary history`)"))
	default:
		return withExitCode(ExitCheckFailed, fmt.Errorf("canary %s (see `trafficctl canary history`)", strings.ToLower(string(phase))))
	}
}
