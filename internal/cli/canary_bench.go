package cli

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

var (
	canaryBenchShort = "Replay simulated traffic against a spec's policy and a Flagger-style one"
	canaryBenchLong  = `Replay the same simulated traffic (100 rps, 10 s scrapes, stable error rate 0.1 %, first weight
5 %) against the spec's policy and a Flagger-style policy (30 s interval, threshold 5, 5 % steps
up to 50 %): a fully broken and a 5 % broken canary, healthy canaries at 100 rps, and 20 healthy
runs at 5 rps. Without a FILE or flags it uses trafficctl's benchmark spec (steps 5,10,25,50,100,
analysis every 5 s, 25 canary requests per step, success rate >= 99 %).`
	canaryBenchExample = `  trafficctl canary bench
  trafficctl canary bench web-canary.yaml`
)

type canaryBenchOptions struct {
	genericiooptions.IOStreams
	spec canarySpecFlags

	canary *canary.Canary
}

func newCanaryBenchCommand(f *Factory) *cobra.Command {
	o := &canaryBenchOptions{IOStreams: f.Streams}
	cmd := newCommand("bench [FILE]", canaryBenchShort, canaryBenchLong, canaryBenchExample, cobra.MaximumNArgs(1), o)
	o.spec.add(cmd)
	return cmd
}

func (o *canaryBenchOptions) Complete(cmd *cobra.Command, args []string) error {
	o.spec.complete(cmd, args)
	return nil
}

func (o *canaryBenchOptions) Validate() error {
	o.canary = canary.BenchSpec()
	if !o.spec.given() {
		return nil
	}
	var err error
	o.canary, err = o.spec.build()
	return err
}

func (o *canaryBenchOptions) Run(context.Context) error {
	return canary.PrintComparison(o.Out, canary.Compare(o.canary))
}
