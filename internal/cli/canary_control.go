package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

// canaryControlOptions are the options of promote, abort, pause and resume: one verb on the
// rollout of an APEX, written to its state and audit log.
type canaryControlOptions struct {
	canaryApexOptions
	verb   string
	reason string
}

// newCanaryControlCommand builds the command of one control verb.
func newCanaryControlCommand(f *Factory, verb, short, example string) (*cobra.Command, *canaryControlOptions) {
	o := &canaryControlOptions{canaryApexOptions: canaryApexOptions{IOStreams: f.Streams, f: f}, verb: verb}
	cmd := newCanaryApexCommand(verb, o, nil, false)
	cmd.Short, cmd.Example = short, example
	return cmd, o
}

// Validate has nothing to check: the control verbs print one line and take no -o.
func (o *canaryControlOptions) Validate() error { return nil }

func (o *canaryControlOptions) Run(ctx context.Context) error {
	cl, err := o.f.Clients()
	if err != nil {
		return err
	}
	store := canary.NewStore(cl.Kube, cl.Namespace)
	ct := &canary.Control{Store: store, Actor: whoAmI(ctx, cl, "canary "+o.verb)}
	var rec *canary.Record
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
