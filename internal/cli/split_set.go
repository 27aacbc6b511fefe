package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/split"
)

var (
	splitSetShort = "Set the weights of an apex Service's backends"
	splitSetLong  = `Set the weights with which the apex Service's traffic goes to each backend Service.

The backends listed are the complete set (list one with weight 0 to keep it at none). Weights
are whole numbers from 0 to 1000000 with a positive total; only their proportions matter.
Every backend must exist in the namespace and expose the apex's ports. Only the weights are
changed, with a conditional update: if another writer changed the weights meanwhile, nothing
is written and the difference is shown (exit 1) unless --force; their other changes are kept.`
	splitSetExample = `  trafficctl split set web-svc -n emojivoto web-v1=90 web-v2=10
  trafficctl split set web-svc -n emojivoto web-v1=0 web-v2=100 --router gateway --dry-run=server`
)

type splitSetOptions struct {
	splitOptions
	splitWriteOptions
	backends []split.Backend
}

func newSplitSetCommand(f *Factory) *cobra.Command {
	o := &splitSetOptions{splitOptions: newSplitOptions(f)}
	cmd := newCommand("set APEX SERVICE=WEIGHT...", splitSetShort, splitSetLong, splitSetExample, cobra.MinimumNArgs(2), o)
	o.addFlags(cmd)
	o.addWriteFlags(cmd, "none, client (print the changes, contact only to read) or server (the server checks the writes, persists nothing)")
	return cmd
}

func (o *splitSetOptions) Complete(_ *cobra.Command, args []string) error {
	o.apex = args[0]
	bs, err := split.ParseBackends(args[1:])
	if err != nil {
		return withExitCode(ExitUsage, err)
	}
	o.backends = bs
	return nil
}

func (o *splitSetOptions) Validate() error {
	return o.validate(o.parseDryRun)
}

func (o *splitSetOptions) Run(ctx context.Context) error {
	r, ns, err := o.flags.selectRouter(ctx, o.f, o.kind, o.apex)
	if err != nil {
		return err
	}
	res, err := r.SetWeights(ctx, ns, o.apex, o.backends, o.setOptions())
	if err != nil {
		return splitError(err)
	}
	printWarnings(o.ErrOut, res)
	return printResult(o.Out, o.output, res, fmt.Sprintf("split of %s/%s", ns, o.apex), split.FormatBackends(o.backends))
}
