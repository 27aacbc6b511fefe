package cli

import (
	"github.com/spf13/cobra"
)

var (
	canaryPauseShort   = "Stop analysis and traffic changes until resume"
	canaryPauseExample = `  trafficctl canary pause web-svc -n emojivoto`
)

// newCanaryPauseCommand builds `canary pause` (see canary_control.go).
func newCanaryPauseCommand(f *Factory) *cobra.Command {
	cmd, _ := newCanaryControlCommand(f, "pause", canaryPauseShort, canaryPauseExample)
	return cmd
}
