package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/metricsim"
	"github.com/trafficctl/trafficctl/pkg/canary"
)

// TestE2ECLIControl drives a rollout with the commands a person uses: run in the foreground,
// status, pause, resume, abort, history; abort must roll back at once and make run exit 3.
func TestE2ECLIControl(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0.001, LatencyMS: 20}, true)
	file := w.specFile(2*time.Minute, "  gates: [10]\n")
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := canaryCLI(t, w, "canary", "run", file)
		done <- result{code, out, errOut}
	}()
	store := canary.NewStore(w.cl.Kube, w.ns)
	waitPhase := func(p canary.Phase) {
		t.Helper()
		for i := 0; i < 300; i++ {
			if rec, err := store.Get(context.Background(), apex); err == nil && rec.State.Phase == p {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("never reached %s", p)
	}
	waitPhase(canary.PhaseAwaitingApproval)

	code, out, errOut := canaryCLI(t, w, "canary", "status", apex)
	t.Logf("$ trafficctl canary status %s\n%s", apex, out)
	if code != 0 || !strings.Contains(out, "AwaitingApproval") || !strings.Contains(out, "web-v1=90 web-v2=10") {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = canaryCLI(t, w, "canary", "pause", apex); code != 0 || !strings.Contains(out, "Paused") {
		t.Fatalf("pause: exit %d %s%s", code, out, errOut)
	}
	if code, _, errOut = canaryCLI(t, w, "canary", "promote", apex); code != 0 {
		t.Fatalf("promote while paused (approval is kept): exit %d %s", code, errOut)
	}
	if code, _, errOut = canaryCLI(t, w, "canary", "pause", apex); code != cli.ExitUsage || !strings.Contains(errOut, "is Paused") {
		t.Fatalf("second pause: exit %d %s", code, errOut)
	}
	if code, out, errOut = canaryCLI(t, w, "canary", "resume", apex); code != 0 || !strings.Contains(out, "AwaitingApproval") {
		t.Fatalf("resume: exit %d %s%s", code, out, errOut)
	}
	waitPhase(canary.PhaseProgressing)
	if code, out, errOut = canaryCLI(t, w, "canary", "abort", apex, "--reason", "manual test"); code != 0 || !strings.Contains(out, "Aborted at 0%") {
		t.Fatalf("abort: exit %d %s%s", code, out, errOut)
	}
	if got := w.weights(); got["web-v2"] != 0 || got["web-v1"] != 100 {
		t.Errorf("weights right after abort %v", got)
	}
	r := <-done
	t.Logf("$ trafficctl canary run\n%s%s", r.out, r.errOut)
	if r.code != cli.ExitCheckFailed || !strings.Contains(r.errOut, "canary aborted") {
		t.Fatalf("run after abort: exit %d, stderr %q", r.code, r.errOut)
	}
	code, out, errOut = canaryCLI(t, w, "canary", "history", apex)
	t.Logf("$ trafficctl canary history %s\n%s", apex, out)
	if code != 0 || !strings.Contains(out, "chain verified") || !strings.Contains(out, "manual test") {
		t.Fatalf("history: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut = canaryCLI(t, w, "canary", "promote", apex); code != cli.ExitUsage || !strings.Contains(errOut, "not at a manual gate") {
		t.Fatalf("promote after abort: exit %d %s", code, errOut)
	}
	if code, _, errOut = canaryCLI(t, w, "canary", "status", "nope"); code != cli.ExitError || !strings.Contains(errOut, "no canary rollout") {
		t.Fatalf("status of an unknown apex: exit %d %s", code, errOut)
	}
}
