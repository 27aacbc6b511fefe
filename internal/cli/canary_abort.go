package cli

import (
	"github.com/spf13/cobra"
)

var (
	canaryAbortShort   = "Roll the canary back at once: all traffic to the stable version"
	canaryAbortExample = `  trafficctl canary abort web-svc -n emojivoto`
)

// newCanaryAbortCommand builds `canary abort` (see canary_control.go).
func newCanaryAbortCommand(f *Factory) *cobra.Command {
	cmd, o := newCanaryControlCommand(f, "abort", canaryAbortShort, canaryAbortExample)
	cmd.Flags().StringVar(&o.reason, "reason", "", "why, for the audit log")
	return cmd
}
