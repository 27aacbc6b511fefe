package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/internal/sandbox"
	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
)

var (
	sandboxSetShort = "Change a demo app Deployment's failure rate and delay while it runs (web-v1, web-v2, emoji, voting)"
	sandboxSetLong  = `Change the fault knobs of the demo app while it runs, as Emojivoto's FAILURE_RATE and
ARTIFICIAL_DELAY do. A knob left out is reset: "set web-v2" alone makes web-v2 healthy again.

TARGET is a Deployment of the sandbox's demo app:
  web-v1, web-v2   the web versions (HTTP, behind web-svc), --replicas processes each
                   (web-v1-0, web-v1-1, ...); a failure is an HTTP 500
  emoji            emoji-svc (gRPC), one version, one process (emoji-svc)
  voting           voting-svc (gRPC), one version, one process (voting-svc)
emoji-svc and voting-svc name the same targets. A gRPC failure is grpc-status 13 (INTERNAL) on
HTTP 200: the data plane counts it as a failure, as Linkerd does, and web answers 500.
Knobs apply to every replica of TARGET, or only to --replica N (0 is the first).`
	sandboxSetExample = `  trafficctl sandbox set web-v2 --failure-rate 30          # a broken canary
  trafficctl sandbox set web-v1 --replica 0 --delay 150ms  # one slow replica
  trafficctl sandbox set voting --failure-rate 100         # every vote fails (gRPC INTERNAL)
  trafficctl sandbox set emoji --delay 50ms                # slow emoji lookups
  trafficctl sandbox set web-v2                            # healthy again`
)

type sandboxSetOptions struct {
	sandboxDirOptions
	target  string
	replica int
	b       demoapp.Behaviour
	failure float64
	delay   time.Duration
}

func newSandboxSetCommand(f *Factory) *cobra.Command {
	o := &sandboxSetOptions{sandboxDirOptions: sandboxDirOptions{IOStreams: f.Streams}, replica: -1}
	cmd := newCommand("set TARGET [--failure-rate PERCENT] [--delay DURATION] [--replica N]", sandboxSetShort, sandboxSetLong, sandboxSetExample, cobra.ExactArgs(1), o)
	addSandboxDirFlag(cmd, &o.dir)
	cmd.Flags().IntVar(&o.replica, "replica", -1, "only this replica index, from 0 (-1: all replicas)")
	cmd.Flags().Float64Var(&o.failure, "failure-rate", 0, "percentage of requests that fail: HTTP 500 from web, gRPC INTERNAL from emoji and voting")
	cmd.Flags().DurationVar(&o.delay, "delay", 0, "added to every request")
	return cmd
}

func (o *sandboxSetOptions) Complete(_ *cobra.Command, args []string) error {
	o.target = args[0]
	return nil
}

func (o *sandboxSetOptions) Validate() error {
	if o.failure < 0 || o.failure > 100 {
		return usageErrorf("--failure-rate %v: use a percentage from 0 to 100", o.failure)
	}
	if o.delay < 0 {
		return usageErrorf("--delay %s: use a duration of 0 or more", o.delay)
	}
	if o.replica < -1 {
		return usageErrorf("--replica %d: use a replica index from 0, or -1 for all replicas", o.replica)
	}
	o.b = demoapp.Behaviour{FailureRate: o.failure / 100, Delay: o.delay}
	return nil
}

func (o *sandboxSetOptions) Run(ctx context.Context) error {
	st, err := sandbox.Load(o.dir)
	if err != nil {
		return sandboxErr(err)
	}
	names, err := sandbox.SetBehaviour(ctx, st, o.target, o.replica, o.b)
	if err != nil {
		return sandboxErr(err)
	}
	for _, n := range names {
		fmt.Fprintf(o.Out, "%s: failure rate %g%%, delay %s\n", n, o.failure, o.b.Delay)
	}
	return nil
}
