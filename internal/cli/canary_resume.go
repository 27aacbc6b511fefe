package cli

import (
	"github.com/spf13/cobra"
)

var (
	canaryResumeShort   = "Continue a paused canary"
	canaryResumeExample = `  trafficctl canary resume web-svc -n emojivoto`
)

// newCanaryResumeCommand builds `canary resume` (see canary_control.go).
func newCanaryResumeCommand(f *Factory) *cobra.Command {
	cmd, _ := newCanaryControlCommand(f, "resume", canaryResumeShort, canaryResumeExample)
	return cmd
}
