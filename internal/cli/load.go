package cli

import (
	"github.com/spf13/cobra"
)

var (
	loadShort = "Load-test HTTP services: attacks, scenarios, sweeps, capacity search, comparisons"
	loadLong  = `Load tests in the open model (requests leave on schedule whatever the target does), built on
vegeta's library. Latency is reported twice: raw (on the wire) and corrected for coordinated
omission (from the intended send time), so a stalled target or a saturated generator shows up
instead of being hidden. Results files keep vegeta's encoding: 'vegeta report' reads them.

Only send load to services you own.`
)

// newLoadCommand builds the load group; each subcommand lives in its own load_*.go file.
func newLoadCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "load",
		Short: loadShort,
		Long:  loadLong,
	}
	cmd.AddCommand(
		newLoadAttackCommand(f),
		newLoadRunCommand(f),
		newLoadSweepCommand(f),
		newLoadCapacityCommand(f),
		newLoadCompareCommand(f),
		newLoadMergeCommand(f),
		newLoadJobCommand(f),
		newLoadCollectCommand(f),
	)
	return cmd
}
