package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

var (
	canaryHistoryShort = "Print an apex's canary audit log and verify its hash chain"
	canaryHistoryLong  = `Print every decision of every canary on the apex, oldest first, and verify the log: each
entry's hash, each link to the previous entry, and the last hash against the anchor kept in the
rollout's state. A log that does not verify exits 3.`
	canaryHistoryExample = `  trafficctl canary history web-svc -n emojivoto
  trafficctl canary history web-svc -n emojivoto -o json`
)

type canaryHistoryOptions struct {
	canaryApexOptions
}

func newCanaryHistoryCommand(f *Factory) *cobra.Command {
	o := &canaryHistoryOptions{canaryApexOptions{IOStreams: f.Streams, f: f}}
	return newCanaryApexCommand("history", canaryHistoryShort, canaryHistoryLong, canaryHistoryExample, o, &o.output)
}

func (o *canaryHistoryOptions) Run(ctx context.Context) error {
	entries, verr := canary.NewStore(o.cl.Kube, o.cl.Namespace).History(ctx, o.apex)
	if verr != nil && !errors.Is(verr, canary.ErrTampered) {
		return verr
	}
	if o.output != outputText {
		if err := printObject(o.Out, o.output, entries); err != nil {
			return err
		}
	} else if err := printHistory(o.Out, entries); err != nil {
		return err
	}
	if verr != nil {
		return withExitCode(ExitCheckFailed, verr)
	}
	var err error
	if o.output == outputText {
		_, err = fmt.Fprintf(o.Out, "chain verified: %d entries, head %s\n", len(entries), entries[len(entries)-1].Hash)
	}
	return err
}

func printHistory(w io.Writer, entries []canary.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tCANARY\tSPEC\tEVENT\tSTEP\tWEIGHT\tVERDICT\tACTOR\tREASON")
	for _, e := range entries {
		verdict := string(e.Verdict)
		if verdict == "" {
			verdict = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d%%->%d%%\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format("2006-01-02T15:04:05Z"), e.Canary,
			e.SpecHash, e.Event, e.Step+1, e.WeightBefore, e.WeightAfter, verdict, e.Actor, e.Reason)
		for _, ch := range e.Checks {
			v := "-"
			if ch.Value != nil {
				v = fmt.Sprintf("%.4g", *ch.Value)
			}
			fmt.Fprintf(tw, "\t\t\t\t  %s\t\t%s\t%s\t\tthreshold %s\n", ch.Metric, v, ch.Verdict, ch.Threshold)
		}
	}
	return tw.Flush()
}
