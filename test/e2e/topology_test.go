package e2e_test

import (
	"strings"
	"testing"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

func TestTopologyErrors(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"namespace required", []string{"topology", "--kubeconfig", env.Kubeconfig}, cli.ExitUsage, "-n/--namespace is required"},
		{"unknown namespace", []string{"topology", "--kubeconfig", env.Kubeconfig, "-n", "nope"}, cli.ExitUsage, `namespace "nope" not found`},
		{"bad window", []string{"topology", "-n", ns, "--since", "-1m"}, cli.ExitUsage, "invalid --since"},
		{"prometheus unreachable", []string{"topology", "--kubeconfig", env.Kubeconfig, "-n", ns, "--prometheus", "http://127.0.0.1:1"}, cli.ExitError, "is Prometheus at http://127.0.0.1:1?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.want) || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tt.wantCode, tt.want)
			}
		})
	}
}
