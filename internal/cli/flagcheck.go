package cli

import (
	"fmt"
	"math"
	"time"
)

// maxFlagDuration bounds pauses and thresholds given as flags.
const maxFlagDuration = time.Hour

// flagCheck is one flag's value check; err is nil when the value is fine. The domain packages
// check their own inputs (pkg/internal/validate); these are for numbers only the command sees.
type flagCheck struct {
	flag string
	err  error
}

// checkFlags returns a usage error (exit 2) naming the first flag whose check failed, with the
// bound in the message: "--rps must be within 0.001..1e+06, got NaN".
func checkFlags(checks ...flagCheck) error {
	for _, c := range checks {
		if c.err != nil {
			return usageErrorf("--%s %v", c.flag, c.err)
		}
	}
	return nil
}

// inRange says why v is not a finite number within lo..hi, or nil.
func inRange(v, lo, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("must be a finite number, got %g", v)
	} else if v < lo || v > hi {
		return fmt.Errorf("must be within %g..%g, got %g", lo, hi, v)
	}
	return nil
}
