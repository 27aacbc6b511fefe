package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

// The four control verbs share one implementation, so they share this file.
var (
	canaryPromoteShort = "Approve the manual gate the canary waits at"
	canaryAbortShort   = "Roll the canary back at once: all traffic to the stable version"
	canaryPauseShort   = "Stop analysis and traffic changes until resume"
	canaryResumeShort  = "Continue a paused canary"
	// canaryControlExample is each verb's example, with the verb for %s.
	canaryControlExample = "  trafficctl canary %s web-svc -n emojivoto"
)

func newCanaryPromoteCommand(f *Factory) *cobra.Command {
	cmd, _ := newCanaryControlCommand(f, "promote", canaryPromoteShort)
	return cmd
}

func newCanaryAbortCommand(f *Factory) *cobra.Command {
	cmd, o := newCanaryControlCommand(f, "abort", canaryAbortShort)
	cmd.Flags().StringVar(&o.reason, "reason", "", "why, for the audit log")
	return cmd
}

func newCanaryPauseCommand(f *Factory) *cobra.Command {
	cmd, _ := newCanaryControlCommand(f, "pause", canaryPauseShort)
	return cmd
}

func newCanaryResumeCommand(f *Factory) *cobra.Command {
	cmd, _ := newCanaryControlCommand(f, "resume", canaryResumeShort)
	return cmd
}

// canaryControlOptions are the options of promote, abort, pause and resume: one verb on the
// rollout of an APEX, written to its state and audit log.
type canaryControlOptions struct {
	canaryApexOptions
	verb   string
	reason string
}

// newCanaryControlCommand builds the command of one control verb.
func newCanaryControlCommand(f *Factory, verb, short string) (*cobra.Command, *canaryControlOptions) {
	o := &canaryControlOptions{canaryApexOptions: canaryApexOptions{IOStreams: f.Streams, f: f}, verb: verb}
	return newCanaryApexCommand(verb, short, "", fmt.Sprintf(canaryControlExample, verb), o, nil), o
}

// Validate checks the connection flags: the control verbs print one line and take no -o.
func (o *canaryControlOptions) Validate() error { return o.connect() }

func (o *canaryControlOptions) Run(ctx context.Context) error {
	cl := o.cl
	store := canary.NewStore(cl.Kube, cl.Namespace)
	ct := &canary.Control{Store: store, Actor: whoAmI(ctx, cl, "canary "+o.verb)}
	var rec *canary.Record
	var err error
	switch o.verb {
	case "promote":
		rec, err = ct.Promote(ctx, o.apex)
	case "pause":
		rec, err = ct.Pause(ctx, o.apex)
	case "resume":
		rec, err = ct.Resume(ctx, o.apex)
	case "abort":
		cur, gerr := store.Get(ctx, o.apex)
		if gerr != nil {
			return gerr
		}
		ct.Router, err = newCanaryRouter(ctx, cl, cur.Spec.Spec.Router, cl.Namespace, o.apex)
		if err != nil {
			return err
		}
		rec, err = ct.Abort(ctx, o.apex, o.reason)
	}
	if errors.Is(err, canary.ErrNotApplicable) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "canary %s on %s/%s: %s at %d%% (%s)\n", rec.State.Name, cl.Namespace, o.apex, rec.State.Phase, rec.State.Weight, o.verb)
	return err
}
