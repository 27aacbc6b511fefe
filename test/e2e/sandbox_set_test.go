package e2e_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/sandbox"
	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
)

// knobsServer serves one replica's fault knobs, as the demo app's admin endpoint does.
func knobsServer(t *testing.T) (*demoapp.Knobs, string) {
	t.Helper()
	k := demoapp.NewKnobs(demoapp.Behaviour{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: k, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return k, l.Addr().String()
}

// TestSandboxSet changes the knobs of every kind of target through a saved sandbox state whose
// replicas are knob servers, and checks the input errors.
func TestSandboxSet(t *testing.T) {
	dir := t.TempDir()
	knobs := map[string]*demoapp.Knobs{}
	st := sandbox.State{Dir: dir}
	for _, c := range []struct{ name, kind, deployment string }{
		{"emoji-svc", sandbox.KindEmoji, "emoji"},
		{"voting-svc", sandbox.KindVoting, "voting"},
		{"web-v1-0", sandbox.KindWeb, "web-v1"},
		{"web-v2-0", sandbox.KindWeb, "web-v2"},
		{"web-v2-1", sandbox.KindWeb, "web-v2"},
		{"dataplane", sandbox.KindDataPlane, ""},
	} {
		k, addr := knobsServer(t)
		knobs[c.name] = k
		st.Components = append(st.Components, sandbox.Component{Name: c.name, Kind: c.kind, Deployment: c.deployment, Addr: "127.0.0.1:1", Admin: addr})
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}

	const targets = "the sandbox's demo app has emoji (replica 0: emoji-svc), voting (replica 0: voting-svc), web-v1 (replica 0: web-v1-0), web-v2 (replicas 0-1: web-v2-0, web-v2-1)"
	tests := []struct {
		cliCase
		// want is the knobs each named replica must have afterwards.
		want map[string]demoapp.Behaviour
	}{
		{cliCase{"emoji fails", []string{"emoji", "--failure-rate", "50"}, cli.ExitOK, "emoji-svc: failure rate 50%, delay 0s", ""},
			map[string]demoapp.Behaviour{"emoji-svc": {FailureRate: 0.5}, "voting-svc": {}}},
		{cliCase{"voting by its Service name", []string{"voting-svc", "--delay", "20ms"}, cli.ExitOK, "voting-svc: failure rate 0%, delay 20ms", ""},
			map[string]demoapp.Behaviour{"voting-svc": {Delay: 20 * time.Millisecond}}},
		{cliCase{"voting replica 0", []string{"voting", "--replica", "0", "--failure-rate", "100"}, cli.ExitOK, "voting-svc: failure rate 100%", ""},
			map[string]demoapp.Behaviour{"voting-svc": {FailureRate: 1}}},
		{cliCase{"one web replica", []string{"web-v2", "--replica", "1", "--delay", "80ms"}, cli.ExitOK, "web-v2-1: failure rate 0%, delay 80ms", ""},
			map[string]demoapp.Behaviour{"web-v2-0": {}, "web-v2-1": {Delay: 80 * time.Millisecond}}},
		{cliCase{"all web replicas", []string{"web-v2", "--failure-rate", "30"}, cli.ExitOK, "web-v2-0: failure rate 30%, delay 0s\nweb-v2-1: failure rate 30%, delay 0s", ""},
			map[string]demoapp.Behaviour{"web-v2-0": {FailureRate: 0.3}, "web-v2-1": {FailureRate: 0.3}, "web-v1-0": {}}},
		{cliCase{"unknown target", []string{"redis", "--failure-rate", "10"}, cli.ExitUsage, "", `unknown target "redis": ` + targets}, nil},
		{cliCase{"the apex is no target", []string{"web-svc"}, cli.ExitUsage, "", `unknown target "web-svc"`}, nil},
		{cliCase{"the data plane is no target", []string{"dataplane"}, cli.ExitUsage, "", `unknown target "dataplane"`}, nil},
		{cliCase{"replica out of range", []string{"emoji", "--replica", "1"}, cli.ExitUsage, "", "emoji has 1 replica(s), replica 0: --replica 1 is none of them"}, nil},
		{cliCase{"negative replica", []string{"web-v2", "--replica", "-2"}, cli.ExitUsage, "", "--replica -2: use a replica index from 0, or -1 for all replicas"}, nil},
		{cliCase{"negative delay", []string{"voting", "--delay", "-1s"}, cli.ExitUsage, "", "--delay -1s: use a duration of 0 or more"}, nil},
		{cliCase{"no target", nil, cli.ExitUsage, "", "accepts 1 arg(s), received 0"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"sandbox", "set", "--dir", dir}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantStdout) || !strings.Contains(errOut, tc.wantStderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.wantCode, out, errOut)
			}
			for name, want := range tc.want {
				if got := knobs[name].Get(); got != want {
					t.Errorf("%s knobs %+v, want %+v", name, got, want)
				}
			}
		})
	}
}

func TestSandboxSetHelpListsTargets(t *testing.T) {
	code, out, _ := runCLI(t, "sandbox", "set", "--help")
	if code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"web-v1, web-v2", "emoji ", "voting ", "emoji-svc and voting-svc", "--failure-rate", "--delay", "--replica", "grpc-status 13"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}
