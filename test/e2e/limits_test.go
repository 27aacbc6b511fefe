package e2e_test

import (
	"strings"
	"testing"

	"github.com/trafficctl/trafficctl/internal/cli"
)

// TestFileArgumentsLimited: every file argument is read with a size limit: /dev/zero is a usage
// error (exit 2) naming the limit, not an out-of-memory kill.
func TestFileArgumentsLimited(t *testing.T) {
	tests := []struct {
		name, want string
		args       []string
	}{
		{"canary spec", "larger than 64 MiB", []string{"canary", "plan", "/dev/zero"}},
		{"load scenario", "larger than 64 MiB", []string{"load", "run", "/dev/zero"}},
		{"load job scenario", "larger than 64 MiB", []string{"load", "job", "/dev/zero", "--replicas", "1"}},
		{"--body", "larger than 64 MiB", []string{"load", "attack", "http://127.0.0.1:1/", "--body", "/dev/zero"}},
		{"--targets", "bad target: line 1", []string{"load", "attack", "--targets", "/dev/zero"}},
		{"merge", "larger than 1 GiB", []string{"load", "merge", "/dev/zero"}},
		{"--openapi", "larger than 64 MiB", []string{"profile", "web", "--openapi", "/dev/zero"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "merge" && testing.Short() {
				t.Skip("reads 1 GiB")
			}
			code, out, errOut := runCLI(t, tt.args...)
			if code != cli.ExitUsage || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s%s", code, cli.ExitUsage, tt.want, out, errOut)
			}
		})
	}
}
