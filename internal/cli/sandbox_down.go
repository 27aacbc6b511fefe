package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/internal/sandbox"
)

var (
	sandboxDownShort   = "Stop every process of the sandbox"
	sandboxDownExample = `  trafficctl sandbox down`
)

type sandboxDownOptions struct {
	sandboxDirOptions
}

func newSandboxDownCommand(f *Factory) *cobra.Command {
	o := &sandboxDownOptions{sandboxDirOptions{IOStreams: f.Streams}}
	return newSandboxDirCommand("down", sandboxDownShort, sandboxDownExample, o, &o.dir)
}

func (o *sandboxDownOptions) Run(context.Context) error {
	n, err := sandbox.Down(o.dir)
	if errors.Is(err, sandbox.ErrNotRunning) {
		fmt.Fprintf(o.Out, "no sandbox running in %s\n", o.dir)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "sandbox stopped: %d processes\n", n)
	return nil
}
