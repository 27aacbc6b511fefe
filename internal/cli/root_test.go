package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// runCLI runs trafficctl with args and returns the exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args)
	return code, out.String(), errOut.String()
}

func TestExitCodesAndErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"unknown flag", []string{"--bogus"}, ExitUsage, "", "error: unknown flag: --bogus\nRun 'trafficctl --help' for usage.\n"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "", "error: unknown command \"frobnicate\" for \"trafficctl\"\nRun 'trafficctl --help' for usage.\n"},
		{"extra argument", []string{"version", "extra"}, ExitUsage, "", "Run 'trafficctl version --help' for usage."},
		{"bad output format", []string{"version", "-o", "xml"}, ExitUsage, "", "invalid value \"xml\" for -o/--output"},
		{"bad completion shell", []string{"completion", "tcsh"}, ExitUsage, "", "invalid argument \"tcsh\""},
		{"help documents exit codes", []string{"--help"}, ExitOK, "Exit status:", ""},
		{"subcommand help documents exit codes", []string{"version", "--help"}, ExitOK, "3  the check ran and failed", ""},
		{"version text", []string{"version"}, ExitOK, "trafficctl dev", ""},
		{"completion bash", []string{"completion", "bash"}, ExitOK, "__start_trafficctl", ""},
		{"completion zsh", []string{"completion", "zsh"}, ExitOK, "#compdef trafficctl", ""},
		{"completion fish", []string{"completion", "fish"}, ExitOK, "complete -c trafficctl", ""},
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
			if tt.wantCode == ExitUsage && (strings.Count(stderr, "\n") != 2 || stdout != "") {
				t.Errorf("usage error should be one error line plus a hint on stderr and nothing on stdout; got stdout %q stderr %q", stdout, stderr)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	code, stdout, _ := runCLI(t, "version", "-o", "json")
	if code != ExitOK {
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

func TestGlobalKubectlFlags(t *testing.T) {
	_, stdout, _ := runCLI(t, "--help")
	for _, flag := range []string{"--kubeconfig", "--context", "-n, --namespace", "--server", "--request-timeout"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("root help lacks %s", flag)
		}
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
	if code == ExitOK || time.Since(start) > 20*time.Second {
		t.Fatalf("exit %d after %s: %s", code, time.Since(start), stderr)
	}
}
