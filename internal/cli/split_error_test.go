package cli

import (
	"fmt"
	"testing"

	"github.com/trafficctl/trafficctl/pkg/split"
)

// splitError maps the split package's errors to exit codes: bad input is 2, the rest 1.
func TestSplitErrorExitCodes(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want int
	}{
		"invalid input":   {fmt.Errorf("x: %w", split.ErrInvalid), ExitUsage},
		"weights changed": {&split.WeightsChangedError{Object: "TrafficSplit web/s", Rule: -1}, ExitError},
		"ambiguous":       {fmt.Errorf("%w: both", split.ErrAmbiguous), ExitError},
		"not installed":   {fmt.Errorf("%w: install", split.ErrNotServed), ExitError},
		"not split yet":   {fmt.Errorf("%w: nothing", split.ErrNotFound), ExitError},
	} {
		t.Run(name, func(t *testing.T) {
			if got := exitCode(splitError(tc.err)); got != tc.want {
				t.Errorf("exit code = %d, want %d", got, tc.want)
			}
		})
	}
}
