package cli

import (
	"fmt"
	"testing"

	"github.com/trafficctl/trafficctl/pkg/split"
)

func TestSplitErrorExitCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"invalid input", fmt.Errorf("x: %w", split.ErrInvalid), ExitUsage},
		{"weights changed", &split.WeightsChangedError{Object: "TrafficSplit web/s", Rule: -1}, ExitError},
		{"ambiguous", fmt.Errorf("%w: both", split.ErrAmbiguous), ExitError},
		{"not installed", fmt.Errorf("%w: install", split.ErrNotServed), ExitError},
		{"not split yet", fmt.Errorf("%w: nothing", split.ErrNotFound), ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(splitError(tt.err)); got != tt.want {
				t.Errorf("exit code = %d, want %d", got, tt.want)
			}
		})
	}
}
