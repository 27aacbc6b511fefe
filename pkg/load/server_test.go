package load

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// testServer is a loopback HTTP server with known behaviour: a fixed service time, an optional
// number of concurrent slots (known capacity slots/delay), every errEvery-th request failing,
// and a count of accepted connections.
type testServer struct {
	*httptest.Server
	accepted atomic.Int64
	served   atomic.Int64
}

type serverSpec struct {
	delay    time.Duration
	slots    int
	errEvery int64
}

func startServer(t testing.TB, spec serverSpec) *testServer {
	t.Helper()
	ts := &testServer{}
	var sem chan struct{}
	if spec.slots > 0 {
		sem = make(chan struct{}, spec.slots)
	}
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sem != nil {
			sem <- struct{}{}
			defer func() { <-sem }()
		}
		if spec.delay > 0 {
			time.Sleep(spec.delay)
		}
		ts.served.Add(1)
		if spec.errEvery > 0 && n.Add(1)%spec.errEvery == 0 {
			http.Error(w, "injected failure", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ts.accepted.Add(1)
		}
	}
	srv.Start()
	ts.Server = srv
	t.Cleanup(srv.Close)
	return ts
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("timing-sensitive load test: skipped under -short")
	}
}
