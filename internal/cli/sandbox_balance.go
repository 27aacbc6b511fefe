package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/internal/sandbox"
	"github.com/trafficctl/trafficctl/internal/sandbox/proxy"
)

var (
	sandboxBalanceShort   = "Switch the data plane's replica balancing"
	sandboxBalanceExample = `  trafficctl sandbox balance round-robin`
)

type sandboxBalanceOptions struct {
	sandboxDirOptions
	mode    string
	balance proxy.Balance
}

func newSandboxBalanceCommand(f *Factory) *cobra.Command {
	o := &sandboxBalanceOptions{sandboxDirOptions: sandboxDirOptions{IOStreams: f.Streams}}
	cmd := newCommand("balance ewma|round-robin", sandboxBalanceShort, "", sandboxBalanceExample, cobra.ExactArgs(1), o)
	addSandboxDirFlag(cmd, &o.dir)
	return cmd
}

func (o *sandboxBalanceOptions) Complete(_ *cobra.Command, args []string) error {
	o.mode = args[0]
	return nil
}

func (o *sandboxBalanceOptions) Validate() error {
	b, err := proxy.ParseBalance(o.mode)
	if err != nil {
		return usageErrorf("%v", err)
	}
	o.balance = b
	return nil
}

func (o *sandboxBalanceOptions) Run(ctx context.Context) error {
	st, err := sandbox.Load(o.dir)
	if err != nil {
		return sandboxErr(err)
	}
	if err := sandbox.SetBalance(ctx, st, o.balance); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "data plane balancing: %s\n", o.balance)
	return nil
}
