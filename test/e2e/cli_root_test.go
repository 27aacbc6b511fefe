package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/cli"
)

func TestGlobalKubectlFlags(t *testing.T) {
	_, stdout, _ := runCLI(t, "--help")
	for _, flag := range []string{"--kubeconfig", "--context", "-n, --namespace", "--server", "--request-timeout"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("root help lacks %s", flag)
		}
	}
}

func TestExitCodesAndErrors(t *testing.T) {
	tests := []cliCase{
		{"unknown flag", []string{"--bogus"}, cli.ExitUsage, "", "error: unknown flag: --bogus\nRun 'trafficctl --help' for usage.\n"},
		{"unknown command", []string{"frobnicate"}, cli.ExitUsage, "", "error: unknown command \"frobnicate\" for \"trafficctl\"\nRun 'trafficctl --help' for usage.\n"},
		{"extra argument", []string{"version", "extra"}, cli.ExitUsage, "", "Run 'trafficctl version --help' for usage."},
		{"bad output format", []string{"version", "-o", "xml"}, cli.ExitUsage, "", "invalid value \"xml\" for -o/--output"},
		{"bad completion shell", []string{"completion", "tcsh"}, cli.ExitUsage, "", "invalid argument \"tcsh\""},
		{"help documents exit codes", []string{"--help"}, cli.ExitOK, "Exit status:", ""},
		{"subcommand help documents exit codes", []string{"version", "--help"}, cli.ExitOK, "3  the check ran and failed", ""},
		{"version text", []string{"version"}, cli.ExitOK, "trafficctl dev", ""},
		{"completion bash", []string{"completion", "bash"}, cli.ExitOK, "__start_trafficctl", ""},
		{"completion zsh", []string{"completion", "zsh"}, cli.ExitOK, "#compdef trafficctl", ""},
		{"completion fish", []string{"completion", "fish"}, cli.ExitOK, "complete -c trafficctl", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.wantStdout)
			}
			if tt.wantStderr == "" && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if tt.wantCode == cli.ExitUsage && (strings.Count(stderr, "\n") != 2 || stdout != "") {
				t.Errorf("usage error should be one error line plus a hint on stderr and nothing on stdout; got stdout %q stderr %q", stdout, stderr)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	code, stdout, _ := runCLI(t, "version", "-o", "json")
	if code != cli.ExitOK {
		t.Fatalf("exit code = %d", code)
	}
	var v struct {
		Version   string `json:"version"`
		GoVersion string `json:"goVersion"`
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, stdout)
	}
	if v.Version == "" || !strings.HasPrefix(v.GoVersion, "go") {
		t.Errorf("version -o json = %+v, want version and goVersion", v)
	}
}

// -o jsonpath=TEMPLATE works wherever -o json does, with kubectl's syntax; a template that does
// not parse is bad input.
func TestJSONPathOutput(t *testing.T) {
	const plan = "../../pkg/canary/testdata/web.yaml"
	for _, tc := range []cliCase{
		{"version", []string{"version", "-o", "jsonpath={.version}"}, cli.ExitOK, "dev", ""},
		{"canary plan", []string{"canary", "plan", plan, "-o", "jsonpath={.steps[*].weight}"}, cli.ExitOK, "5 10 25 50 100", ""},
		{"profile", []string{"profile", "web", "--openapi", "../../pkg/profiles/testdata/specs/emojivoto-web.yaml", "-o", "jsonpath={.spec.routes[0].name}"}, cli.ExitOK, "GET /api/leaderboard", ""},
		{"bad template", []string{"version", "-o", "jsonpath={.version"}, cli.ExitUsage, "", "error: invalid -o jsonpath={.version: unclosed action"},
		{"load report format", []string{"load", "merge", "-o", "jsonpath={.x", plan}, cli.ExitUsage, "", "error: invalid -o jsonpath={.x: unclosed action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.wantCode || stdout != tc.wantStdout || !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q", code, tc.wantCode, stdout, tc.wantStdout, stderr)
			}
		})
	}
}

// TestRequestTimeoutDefault: API calls are bounded by default (--request-timeout 30s), so a
// hung API server fails a command instead of hanging it.
func TestRequestTimeoutDefault(t *testing.T) {
	_, stdout, _ := runCLI(t, "--help")
	if !strings.Contains(stdout, `--request-timeout string`) || !strings.Contains(stdout, `(default "30s")`) {
		t.Fatalf("--request-timeout has no 30s default:\n%s", stdout)
	}
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hung.Close()
	start := time.Now()
	code, _, stderr := runCLI(t, "canary", "status", "web-svc", "--server", hung.URL, "--request-timeout", "300ms")
	if code == cli.ExitOK || time.Since(start) > 20*time.Second {
		t.Fatalf("exit %d after %s: %s", code, time.Since(start), stderr)
	}
}
