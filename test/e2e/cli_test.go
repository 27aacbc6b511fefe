package e2e_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/internal/cli"
)

// runCLI runs trafficctl with args in this process, as main does, with empty standard input, and
// returns the exit code, stdout and stderr. It is the one way every end-to-end test drives the CLI.
func runCLI(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	return runCLIWith(context.Background(), strings.NewReader(""), args...)
}

// runCLIWith is runCLI with a context (to stop a long-running command) and standard input.
func runCLIWith(ctx context.Context, stdin io.Reader, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := runCLIStreams(ctx, genericiooptions.IOStreams{In: stdin, Out: &out, ErrOut: &errOut}, args...)
	return code, out.String(), errOut.String()
}

// runCLIStreams runs trafficctl on the given streams, for a test that reads the output while the
// command still runs (a controller, a live view).
func runCLIStreams(ctx context.Context, streams genericiooptions.IOStreams, args ...string) int {
	return cli.Run(ctx, streams, args)
}

// cliCase is a row of a table of CLI runs: the arguments, the exit code, and text that stdout
// and stderr must contain.
type cliCase struct {
	name       string
	args       []string
	wantCode   int
	wantStdout string
	wantStderr string
}

// expectCLI runs trafficctl with args and checks the exit code and that want is in stdout, or
// in stderr when the exit code is not 0.
func expectCLI(t *testing.T, args []string, wantCode int, want string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	out := stdout
	if wantCode != cli.ExitOK {
		out = stderr
	}
	if code != wantCode || !strings.Contains(out, want) {
		t.Errorf("exit %d, want %d and %q in:\nstdout %s\nstderr %s", code, wantCode, want, stdout, stderr)
	}
}
