package cli

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

var (
	canaryPlanShort = "Show what a rollout would do, without touching the cluster"
	canaryPlanLong  = `Print the steps, the shortest time to promote a healthy canary, the worst-case time to roll
back a fully broken one, and the failed requests expected to leak at --rps and --error-rate,
computed by replaying simulated traffic against the spec's own policy.`
	canaryPlanExample = `  trafficctl canary plan web-canary.yaml
  trafficctl canary plan web-canary.yaml --rps 5 --error-rate 5 -o json
  trafficctl canary plan --apex web-svc --stable web-v1 --canary web-v2 --prometheus http://127.0.0.1:9090 --steps 5,25,100`
)

type canaryPlanOptions struct {
	genericiooptions.IOStreams
	spec              canarySpecFlags
	output            string
	rps               float64
	errorRate, stable float64

	canary *canary.Canary
}

func newCanaryPlanCommand(f *Factory) *cobra.Command {
	d := canary.DefaultPlanOptions
	o := &canaryPlanOptions{IOStreams: f.Streams, rps: d.RPS, errorRate: 100 * d.ErrorRate, stable: 100 * d.StableErrorRate}
	cmd := newCommand("plan [FILE]", canaryPlanShort, canaryPlanLong, canaryPlanExample, cobra.MaximumNArgs(1), o)
	cmd.Flags().Float64Var(&o.rps, "rps", o.rps, "total requests per second to the apex")
	cmd.Flags().Float64Var(&o.errorRate, "error-rate", o.errorRate, "canary error rate in percent")
	cmd.Flags().Float64Var(&o.stable, "stable-error-rate", o.stable, "stable version's error rate in percent")
	o.spec.add(cmd)
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func (o *canaryPlanOptions) Complete(cmd *cobra.Command, args []string) error {
	o.spec.complete(cmd, args)
	return nil
}

// maxPlanRPS bounds `canary plan --rps`: the simulation draws every request's outcome.
const maxPlanRPS = 1e6

func (o *canaryPlanOptions) Validate() error {
	if err := validateOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
		return err
	}
	if err := checkFlags(
		flagCheck{"rps", inRange(o.rps, 0.001, maxPlanRPS)},
		flagCheck{"error-rate", inRange(o.errorRate, 0, 100)},
		flagCheck{"stable-error-rate", inRange(o.stable, 0, 100)},
	); err != nil {
		return err
	}
	var err error
	o.canary, err = o.spec.build()
	return err
}

func (o *canaryPlanOptions) Run(context.Context) error {
	d := canary.DefaultPlanOptions
	p := canary.MakePlan(o.canary, canary.PlanOptions{RPS: o.rps, ErrorRate: o.errorRate / 100, StableErrorRate: o.stable / 100, Runs: d.Runs})
	if o.output != outputText {
		return printObject(o.Out, o.output, p)
	}
	return p.Print(o.Out)
}
