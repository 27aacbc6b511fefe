package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/split"
)

var (
	splitGetShort   = "Show how an apex Service's traffic is split"
	splitGetExample = `  trafficctl split get web-svc -n emojivoto
  trafficctl split get web-svc -n emojivoto -o yaml`
)

type splitGetOptions struct {
	splitOptions
}

func newSplitGetCommand(f *Factory) *cobra.Command {
	o := &splitGetOptions{newSplitOptions(f)}
	cmd := newCommand("get APEX", splitGetShort, "", splitGetExample, cobra.ExactArgs(1), o)
	o.addFlags(cmd)
	return cmd
}

func (o *splitGetOptions) Complete(_ *cobra.Command, args []string) error {
	o.apex = args[0]
	return nil
}

func (o *splitGetOptions) Validate() error {
	return o.validate()
}

func (o *splitGetOptions) Run(ctx context.Context) error {
	r, ns, err := o.flags.selectRouter(ctx, o.f, o.kind, o.apex)
	if err != nil {
		return err
	}
	s, err := r.Get(ctx, ns, o.apex)
	if errors.Is(err, split.ErrNotFound) {
		return fmt.Errorf("%w: set one with `trafficctl split set %s -n %s SERVICE=WEIGHT ...`", err, o.apex, ns)
	}
	if err != nil {
		return splitError(err)
	}
	if o.output != outputText {
		return printObject(o.Out, o.output, s)
	}
	return split.PrintTable(o.Out, s)
}
