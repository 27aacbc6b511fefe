package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

var (
	canaryStatusShort   = "Show a canary's phase, step, weights and last decision"
	canaryStatusExample = `  trafficctl canary status web-svc -n emojivoto`
)

type canaryStatusOptions struct {
	canaryApexOptions
}

func newCanaryStatusCommand(f *Factory) *cobra.Command {
	o := &canaryStatusOptions{canaryApexOptions{IOStreams: f.Streams, f: f}}
	return newCanaryApexCommand("status", canaryStatusShort, "", canaryStatusExample, o, &o.output)
}

func (o *canaryStatusOptions) Run(ctx context.Context) error {
	rec, err := canary.NewStore(o.cl.Kube, o.cl.Namespace).Get(ctx, o.apex)
	if err != nil {
		return err
	}
	if o.output != outputText {
		return printObject(o.Out, o.output, rec.State)
	}
	return printStatus(o.Out, rec)
}

func printStatus(w io.Writer, rec *canary.Record) error {
	st, c := rec.State, rec.Spec
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Canary:\t%s (spec %s)\n", st.Name, st.SpecHash)
	fmt.Fprintf(tw, "Apex:\t%s\n", c.Spec.Apex)
	fmt.Fprintf(tw, "Phase:\t%s\n", st.Phase)
	fmt.Fprintf(tw, "Step:\t%d of %d %v\n", st.Step+1, len(c.Steps()), c.Steps())
	fmt.Fprintf(tw, "Weights:\t%s=%d %s=%d\n", c.Spec.Stable.Service, 100-st.Weight, c.Spec.Canary.Service, st.Weight)
	fmt.Fprintf(tw, "Started:\t%s\n", st.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "Canary requests:\t%.0f (%.0f failed) in completed steps\n", st.Prior.Canary.Requests, st.Prior.Canary.Failures)
	for _, a := range st.Approved {
		fmt.Fprintf(tw, "Approved:\tgate %d%% by %s at %s\n", a.Weight, a.By, a.At.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "Message:\t%s\n", st.Message)
	fmt.Fprintf(tw, "Log head:\t%s\n", st.Head)
	return tw.Flush()
}
