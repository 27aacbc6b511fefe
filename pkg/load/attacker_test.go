package load

import (
	"context"
	"fmt"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func targetsFor(t *testing.T, url string) *TargetSet {
	t.Helper()
	ts, err := NewTargetSet([]Target{{Target: vegeta.Target{Method: "GET", URL: url}}})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestAttackFixedDelay(t *testing.T) {
	skipShort(t)
	srv := startServer(t, serverSpec{delay: 20 * time.Millisecond})
	rep, err := NewAttacker().Run(context.Background(), targetsFor(t, srv.URL), vegeta.Rate{Freq: 100, Per: time.Second}, 2*time.Second, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests < 195 || rep.Requests > 201 {
		t.Errorf("requests = %d, want about 200", rep.Requests)
	}
	if rep.Success != 1 {
		t.Errorf("success = %v, want 1", rep.Success)
	}
	for name, p50 := range map[string]time.Duration{"vegeta": rep.Latencies.P50, "raw": rep.RawLatencies.P50, "corrected": rep.CorrectedLatencies.P50} {
		if p50 < 20*time.Millisecond || p50 > 26*time.Millisecond {
			t.Errorf("%s p50 = %v, want close to the 20ms delay", name, p50)
		}
	}
	if rep.AttemptedRate < 99 || rep.AttemptedRate > 101 {
		t.Errorf("attempted rate = %v, want 100", rep.AttemptedRate)
	}
	// A shared 2-core machine may stall a goroutine for a few ms now and then.
	if rep.LateSends > rep.Requests/20 {
		t.Errorf("late sends = %d (max lag %v), want ~0 at 100/s", rep.LateSends, rep.MaxSendLag)
	}
}

func TestAttackErrorRatio(t *testing.T) {
	skipShort(t)
	srv := startServer(t, serverSpec{errEvery: 10})
	rep, err := NewAttacker().Run(context.Background(), targetsFor(t, srv.URL), vegeta.Rate{Freq: 200, Per: time.Second}, time.Second, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Success < 0.89 || rep.Success > 0.91 {
		t.Errorf("success = %v, want 0.9 (every 10th request fails)", rep.Success)
	}
	if rep.StatusCodes["500"] == 0 || len(rep.Errors) != 1 {
		t.Errorf("status codes %v errors %v, want 500s and one error", rep.StatusCodes, rep.Errors)
	}
}

func TestAttackConnectionsExact(t *testing.T) {
	skipShort(t)
	for _, n := range []int{1, 4, 16} {
		t.Run(fmt.Sprintf("%d connections", n), func(t *testing.T) {
			srv := startServer(t, serverSpec{delay: 20 * time.Millisecond})
			// 20 ms service time: each connection carries 50/s; ask for 40/s per connection.
			rate := vegeta.Rate{Freq: 40 * n, Per: time.Second}
			rep, err := NewAttacker(Connections(n)).Run(context.Background(), targetsFor(t, srv.URL), rate, 2*time.Second, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.accepted.Load(); got != int64(n) {
				t.Errorf("server accepted %d connections, want exactly %d", got, n)
			}
			if rep.Success != 1 {
				t.Errorf("success = %v", rep.Success)
			}
		})
	}
}

// Past what N connections carry, hits queue for a connection: the schedule is kept (all hits
// are sent) and the wait shows in the corrected latency, not in the raw one.
func TestAttackConnectionsSaturated(t *testing.T) {
	skipShort(t)
	srv := startServer(t, serverSpec{delay: 20 * time.Millisecond})
	// Two connections carry 100/s; ask for 150/s for 2 s.
	rep, err := NewAttacker(Connections(2)).Run(context.Background(), targetsFor(t, srv.URL), vegeta.Rate{Freq: 150, Per: time.Second}, 2*time.Second, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.accepted.Load(); got != 2 {
		t.Errorf("accepted %d connections, want 2", got)
	}
	if rep.Requests < 295 {
		t.Errorf("requests = %d, want the full schedule of 300", rep.Requests)
	}
	if rep.RawLatencies.P50 > 30*time.Millisecond {
		t.Errorf("raw p50 = %v, want near the 20ms service time", rep.RawLatencies.P50)
	}
	// The backlog grows by 50/s for 2 s: the last hits wait ~1 s.
	if rep.CorrectedLatencies.Max < 500*time.Millisecond {
		t.Errorf("corrected max = %v, want the connection wait (~1s) included", rep.CorrectedLatencies.Max)
	}
}

func TestAttackCancelKeepsPartialReport(t *testing.T) {
	skipShort(t)
	srv := startServer(t, serverSpec{delay: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	rep, err := NewAttacker().Run(ctx, targetsFor(t, srv.URL), vegeta.Rate{Freq: 100, Per: time.Second}, 30*time.Second, RunOptions{})
	if err == nil {
		t.Fatal("want the context error")
	}
	if d := time.Since(start); d > 700*time.Millisecond {
		t.Errorf("stopped after %v, want at once", d)
	}
	if rep.Requests < 30 || rep.Requests > 60 {
		t.Errorf("partial report has %d requests, want about 50", rep.Requests)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("cancelled requests must not count as errors: %v", rep.Errors)
	}
}

func targetURL(u string) vegeta.Target { return vegeta.Target{Method: "GET", URL: u} }
