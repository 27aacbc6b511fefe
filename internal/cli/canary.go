package cli

import (
	"github.com/spf13/cobra"
)

var (
	canaryShort = "Automated canary releases: step traffic by Linkerd metrics, roll back on their own"
	canaryLong  = `Shift an apex Service's traffic from a stable to a canary version step by step, analysing
Linkerd's proxy metrics of both versions over the same window with a sequential test, and
promote, roll back at once, or hold. The rollout's state and a hash-chained audit log live in
the ConfigMap trafficctl-canary-<apex>, so a killed run resumes where it stopped.`
)

// newCanaryCommand builds the canary group; each subcommand lives in its own canary_*.go file.
func newCanaryCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "canary",
		Short: canaryShort,
		Long:  canaryLong,
	}
	cmd.AddCommand(
		newCanaryPlanCommand(f),
		newCanaryRunCommand(f),
		newCanaryStatusCommand(f),
		newCanaryPromoteCommand(f),
		newCanaryAbortCommand(f),
		newCanaryPauseCommand(f),
		newCanaryResumeCommand(f),
		newCanaryHistoryCommand(f),
		newCanaryControllerCommand(f),
		newCanaryBenchCommand(f),
	)
	return cmd
}
