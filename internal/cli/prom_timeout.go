package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/trafficctl/trafficctl/pkg/metrics"
)

// addPromTimeoutFlag adds --prometheus-timeout, the bound of one Prometheus query, to a command
// that talks to Prometheus.
func addPromTimeoutFlag(fs *pflag.FlagSet, d *time.Duration) {
	*d = metrics.DefaultQueryTimeout
	fs.DurationVar(d, "prometheus-timeout", *d, "timeout of one Prometheus query; a slower answer counts as the backend being down")
}

// checkPromTimeout rejects a --prometheus-timeout that is not positive or beyond an hour.
func checkPromTimeout(d time.Duration) error {
	if d <= 0 || d > maxFlagDuration {
		return usageErrorf("invalid --prometheus-timeout %s: must be within 1ns..%s", d, maxFlagDuration)
	}
	return nil
}
