package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trafficctl/trafficctl/internal/cli"
)

func TestCanaryPlanCommand(t *testing.T) {
	const file = "../../pkg/canary/testdata/web.yaml"
	flagsOnly := []string{"canary", "plan", "--apex", "web-svc", "--stable", "web-v1", "--canary", "web-v2:web-v2-dep",
		"--prometheus", "http://127.0.0.1:9090"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"file", []string{"canary", "plan", file}, cli.ExitOK, "Worst-case time to roll back a fully broken canary:                20s"},
		{"flags override the file", []string{"canary", "plan", file, "--steps", "20,100", "--gates", "20"}, cli.ExitOK, "2     100%"},
		{"flags only", append(flagsOnly, "--steps", "5,25,100"), cli.ExitOK, "3     100%"},
		{"step weight", append(flagsOnly, "--step-weight", "50"), cli.ExitOK, "2     100%"},
		{"traffic assumptions", []string{"canary", "plan", file, "--rps", "5", "--error-rate", "5"}, cli.ExitOK, "At 5 rps, canary error rate 5%"},
		{"steps not ending at 100", append(flagsOnly, "--steps", "5,50"), cli.ExitUsage, "spec.steps: must end at 100"},
		{"promote on no data", append(flagsOnly, "--on-no-data", "promote"), cli.ExitUsage, "never promote"},
		{"no file, missing flags", []string{"canary", "plan", "--apex", "web-svc"}, cli.ExitUsage, "give a spec FILE, or at least --apex, --stable and --canary"},
		{"missing file", []string{"canary", "plan", "nope.yaml"}, cli.ExitUsage, "no such file"},
		{"bench", []string{"canary", "bench"}, cli.ExitOK, "healthy 0.1% errors, 5 rps    flagger-style"},
		{"bench of a spec with a gate", []string{"canary", "bench", file}, cli.ExitOK, "healthy 0.1% errors, 100 rps  trafficctl     20    20"},
		{"bad rps", []string{"canary", "plan", file, "--rps", "0"}, cli.ExitUsage, "--rps must be within 0.001..1e+06, got 0"},
		{"NaN rps", []string{"canary", "plan", file, "--rps", "NaN"}, cli.ExitUsage, "--rps must be a finite number, got NaN"},
		{"Inf error rate", []string{"canary", "plan", file, "--error-rate", "Inf"}, cli.ExitUsage, "--error-rate must be a finite number, got +Inf"},
		{"NaN success rate", []string{"canary", "plan", file, "--min-success-rate", "NaN"}, cli.ExitUsage, "must be a finite number, got NaN"},
		{"Inf max p99", append(flagsOnly, "--max-p99", "Inf"), cli.ExitUsage, "must be a finite number, got +Inf"},
		{"NaN max p99 ratio", append(flagsOnly, "--max-p99-ratio", "NaN"), cli.ExitUsage, "must be a finite number, got NaN"},
		{"min requests near 2^63", append(flagsOnly, "--min-requests", "9223372036854775000"), cli.ExitUsage, "spec.minRequests: must be within 1..1000000000"},
		{"one step", append(flagsOnly, "--steps", "100"), cli.ExitOK, "1     100%"},
		{"one step by weight", append(flagsOnly, "--step-weight", "100"), cli.ExitOK, "1     100%"},
		{"bench of a one-step spec", append([]string{"canary", "bench"}, append(flagsOnly[2:], "--steps", "100")...), cli.ExitOK, "trafficctl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d, want %d; output does not contain %q:\n%s%s", code, tt.wantCode, tt.want, out, errOut)
			}
		})
	}
	code, out, _ := runCLI(t, "canary", "plan", file, "-o", "json")
	var p struct {
		Steps          []struct{ Weight int }
		ExpectedLeaked float64
	}
	if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil || len(p.Steps) != 5 || p.ExpectedLeaked <= 0 {
		t.Fatalf("json plan: exit %d, %v: %s", code, err, out)
	}
}

func TestPrometheusTimeoutFlag(t *testing.T) {
	const file = "../../pkg/canary/testdata/web.yaml"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"run negative", []string{"canary", "run", file, "--prometheus-timeout", "-1s"}},
		{"run zero", []string{"canary", "run", file, "--prometheus-timeout", "0s"}},
		{"controller too long", []string{"canary", "controller", "--prometheus-timeout", "2h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.args...)
			if code != cli.ExitUsage || !strings.Contains(errOut, "invalid --prometheus-timeout") || !strings.Contains(errOut, "must be within 1ns..1h0m0s") {
				t.Fatalf("exit %d: %s", code, errOut)
			}
		})
	}
}
