package e2e_test

import (
	"path/filepath"
	"testing"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/golden"
)

// TestEmojivotoProfiles regenerates emojivoto's ServiceProfiles from its API contracts with
// `trafficctl profile` and requires the checked-in copies to match, so a contract change
// cannot leave stale routes in the cluster.
func TestEmojivotoProfiles(t *testing.T) {
	const app = "../../deploy/emojivoto"
	for _, tc := range []struct {
		service string
		args    []string
	}{
		{"web-svc", []string{"--openapi", app + "/api/web.openapi.yaml"}},
		{"emoji-svc", []string{"--proto", app + "/api/proto/emojivoto/v1/emoji.proto", "-I", app + "/api/proto"}},
		{"voting-svc", []string{"--proto", app + "/api/proto/emojivoto/v1/voting.proto", "-I", app + "/api/proto"}},
	} {
		t.Run(tc.service, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"profile", tc.service, "-n", "emojivoto"}, tc.args...)...)
			if code != cli.ExitOK {
				t.Fatalf("trafficctl profile %s: exit %d\n%s", tc.service, code, errOut)
			}
			golden.Assert(t, filepath.Join(app, "profiles", tc.service+".yaml"), []byte(out))
		})
	}
}
