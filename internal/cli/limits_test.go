package cli

import (
	"strings"
	"testing"
)

// TestFileArgumentsLimited: every file argument is read with a size limit: /dev/zero is a usage
// error (exit 2) naming the limit, not an out-of-memory kill.
func TestFileArgumentsLimited(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"canary spec", []string{"canary", "plan", "/dev/zero"}, "larger than 64 MiB"},
		{"load scenario", []string{"load", "run", "/dev/zero"}, "larger than 64 MiB"},
		{"load job scenario", []string{"load", "job", "/dev/zero", "--replicas", "1"}, "larger than 64 MiB"},
		{"--body", []string{"load", "attack", "http://127.0.0.1:1/", "--body", "/dev/zero"}, "larger than 64 MiB"},
		{"--targets", []string{"load", "attack", "--targets", "/dev/zero"}, "bad target: line 1"},
		{"merge", []string{"load", "merge", "/dev/zero"}, "larger than 1 GiB"},
		{"--openapi", []string{"profile", "web", "--openapi", "/dev/zero"}, "larger than 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "merge" && testing.Short() {
				t.Skip("reads 1 GiB")
			}
			code, out, errOut := runCLI(t, tt.args...)
			if code != ExitUsage || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s%s", code, ExitUsage, tt.want, out, errOut)
			}
		})
	}
}
