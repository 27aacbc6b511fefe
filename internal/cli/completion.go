package cli

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

var (
	completionShort = "Print a shell completion script"
	completionLong  = `Print a completion script for your shell.

  bash:  source <(trafficctl completion bash)
         (or write it to /etc/bash_completion.d/trafficctl)
  zsh:   trafficctl completion zsh > "${fpath[1]}/_trafficctl"
  fish:  trafficctl completion fish > ~/.config/fish/completions/trafficctl.fish`
)

func newCompletionCommand(f *Factory) *cobra.Command {
	o := &completionOptions{IOStreams: f.Streams}
	cmd := newCommand("completion bash|zsh|fish", completionShort, completionLong, "", cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs), o)
	cmd.ValidArgs = []string{"bash", "zsh", "fish"}
	return cmd
}

type completionOptions struct {
	genericiooptions.IOStreams
	shell string
	root  *cobra.Command
}

func (o *completionOptions) Complete(cmd *cobra.Command, args []string) error {
	o.shell, o.root = args[0], cmd.Root()
	return nil
}

// Validate has nothing to check: cobra accepts only bash, zsh and fish (ValidArgs).
func (o *completionOptions) Validate() error { return nil }

func (o *completionOptions) Run(context.Context) error {
	switch o.shell {
	case "bash":
		return o.root.GenBashCompletionV2(o.Out, true)
	case "zsh":
		return o.root.GenZshCompletion(o.Out)
	default:
		return o.root.GenFishCompletion(o.Out, true)
	}
}
