package cli

import (
	"github.com/spf13/cobra"
)

var (
	canaryPromoteShort   = "Approve the manual gate the canary waits at"
	canaryPromoteExample = `  trafficctl canary promote web-svc -n emojivoto`
)

// newCanaryPromoteCommand builds `canary promote` (see canary_control.go).
func newCanaryPromoteCommand(f *Factory) *cobra.Command {
	cmd, _ := newCanaryControlCommand(f, "promote", canaryPromoteShort, canaryPromoteExample)
	return cmd
}
