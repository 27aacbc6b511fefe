package cli

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/internal/sandbox"
)

func addSandboxDirFlag(cmd *cobra.Command, dir *string) {
	def, _ := sandbox.DefaultDir()
	cmd.Flags().StringVar(dir, "dir", def, "state directory of the sandbox (PID files, logs, kubeconfig)")
}

// sandboxErr maps the sandbox's sentinel errors to exit codes.
func sandboxErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sandbox.ErrBadInput):
		return withExitCode(ExitUsage, err)
	case errors.Is(err, sandbox.ErrNotRunning):
		return withExitCode(ExitCheckFailed, err)
	}
	return err
}

// sandboxDirOptions are the options shared by the commands on a running sandbox: its --dir.
type sandboxDirOptions struct {
	genericiooptions.IOStreams
	dir string
}

func (o *sandboxDirOptions) Complete(*cobra.Command, []string) error { return nil }

func (o *sandboxDirOptions) Validate() error { return nil }

// newSandboxDirCommand builds a sandbox command without arguments that takes --dir.
func newSandboxDirCommand(use, short, example string, o commandOptions, dir *string) *cobra.Command {
	cmd := newCommand(use, short, "", example, cobra.NoArgs, o)
	addSandboxDirFlag(cmd, dir)
	return cmd
}
