package cli

import (
	"github.com/spf13/cobra"
)

func newCompletionCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print a completion script for your shell.

  bash:  source <(trafficctl completion bash)
         (or write it to /etc/bash_completion.d/trafficctl)
  zsh:   trafficctl completion zsh > "${fpath[1]}/_trafficctl"
  fish:  trafficctl completion fish > ~/.config/fish/completions/trafficctl.fish`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := f.Streams.Out
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			default:
				return root.GenFishCompletion(out, true)
			}
		},
	}
}
