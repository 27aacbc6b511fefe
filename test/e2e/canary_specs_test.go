package e2e_test

import (
	"strings"
	"testing"

	"github.com/trafficctl/trafficctl/internal/cli"
)

// TestEmojivotoCanarySpecs checks the canary specs shipped with the app: both are valid, and
// replaying voting-v2's configured failure rate (FAILURE_RATE 0.3) rolls it back every time.
func TestEmojivotoCanarySpecs(t *testing.T) {
	for _, tc := range []struct {
		file string
		args []string
		want string
	}{
		{"web.yaml", nil, "Canary web on apex web-svc"},
		{"voting.yaml", []string{"--error-rate", "30"}, "0 promoted, 50 rolled back"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"canary", "plan", "../../deploy/emojivoto/canary/" + tc.file}, tc.args...)...)
			if code != cli.ExitOK || !strings.Contains(out, tc.want) {
				t.Errorf("canary plan %s: exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", tc.file, code, tc.want, out, errOut)
			}
		})
	}
}
