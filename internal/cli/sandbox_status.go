package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/internal/sandbox"
)

var (
	sandboxStatusShort   = "Show each component's PID, address and health (exit 3 when one is unhealthy)"
	sandboxStatusExample = `  trafficctl sandbox status
  trafficctl sandbox status -o json`
)

type sandboxStatusOptions struct {
	sandboxDirOptions
	output string
}

func newSandboxStatusCommand(f *Factory) *cobra.Command {
	o := &sandboxStatusOptions{sandboxDirOptions: sandboxDirOptions{IOStreams: f.Streams}}
	cmd := newSandboxDirCommand("status", sandboxStatusShort, sandboxStatusExample, o, &o.dir)
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func (o *sandboxStatusOptions) Validate() error {
	return validateOutput(o.output, outputText, outputJSON, outputYAML)
}

func (o *sandboxStatusOptions) Run(ctx context.Context) error {
	_, ss, err := sandbox.Status(ctx, o.dir)
	if err != nil {
		return sandboxErr(err)
	}
	healthy, line := sandbox.Summary(ss)
	if o.output != outputText {
		if err := printObject(o.Out, o.output, ss); err != nil {
			return err
		}
	} else if err := o.print(ss, line); err != nil {
		return err
	}
	if !healthy {
		return withExitCode(ExitCheckFailed, errors.New(line))
	}
	return nil
}

// print writes one row per component and the summary line.
func (o *sandboxStatusOptions) print(ss []sandbox.ComponentStatus, line string) error {
	tw := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tPID\tADDRESS\tHEALTH")
	for _, s := range ss {
		h := "ok"
		if !s.Healthy {
			h = "DOWN: " + s.Detail
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Name, s.PID, s.Addr, h)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(o.Out, line)
	return err
}
