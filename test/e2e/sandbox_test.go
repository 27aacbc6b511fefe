package e2e_test

import (
	"strings"
	"testing"

	"github.com/trafficctl/trafficctl/internal/cli"
)

// The sandbox commands' input errors, answered before anything starts (the end-to-end tests
// of up, status and down live in internal/sandbox).
func TestSandboxBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []cliCase{
		{"bad balance", []string{"sandbox", "up", "--dir", dir, "--balance", "random"}, cli.ExitUsage, "", "--balance: unknown balancing \"random\": use ewma or round-robin"},
		{"bad replicas", []string{"sandbox", "up", "--dir", dir, "--replicas", "0"}, cli.ExitUsage, "", "--replicas 0: use 1 to 10"},
		{"missing prometheus", []string{"sandbox", "up", "--dir", dir, "--prometheus-bin", dir + "/none"}, cli.ExitUsage, "", "install Prometheus (apt-get install prometheus) or pass its path"},
		{"status of nothing", []string{"sandbox", "status", "--dir", dir}, cli.ExitCheckFailed, "", "no sandbox running in " + dir + ": start one with `trafficctl sandbox up`"},
		{"down of nothing", []string{"sandbox", "down", "--dir", dir}, cli.ExitOK, "no sandbox running in " + dir, ""},
		{"env of nothing", []string{"sandbox", "env", "--dir", dir}, cli.ExitCheckFailed, "", "no sandbox running"},
		{"set bad rate", []string{"sandbox", "set", "web-v2", "--dir", dir, "--failure-rate", "120"}, cli.ExitUsage, "", "--failure-rate 120: use a percentage from 0 to 100"},
		{"set without sandbox", []string{"sandbox", "set", "web-v2", "--dir", dir}, cli.ExitCheckFailed, "", "no sandbox running"},
		{"balance bad mode", []string{"sandbox", "balance", "fastest", "--dir", dir}, cli.ExitUsage, "", "unknown balancing \"fastest\""},
		{"report of nothing", []string{"sandbox", "report", dir}, cli.ExitError, "", "no demo results"},
		{"serve-component without spec", []string{"sandbox", "serve-component", "--spec", dir + "/none.json"}, cli.ExitUsage, "", "read component spec"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantStdout) || !strings.Contains(errOut, tc.wantStderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.wantCode, out, errOut)
			}
		})
	}
}
