package sandbox

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/testing/otlptest"
)

// serveInProcess runs one component in this process and returns its first address.
func serveInProcess(t *testing.T, ctx context.Context, spec ComponentSpec) string {
	t.Helper()
	spec.Dir, spec.Listen = t.TempDir(), "127.0.0.1:0"
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, spec) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("%s: %v", spec.Name, err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(spec.Dir, spec.Name+".addr")); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			return strings.Fields(string(b))[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not start", spec.Name)
	return ""
}

// TestOneVoteIsOneTrace sends a vote through web, which calls emoji and voting over gRPC, with
// the demo app exporting to an OTLP receiver: all three services' spans carry one trace ID.
func TestOneVoteIsOneTrace(t *testing.T) {
	rc := otlptest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	emoji := serveInProcess(t, ctx, ComponentSpec{Name: "emoji-svc", Kind: KindEmoji, OTLPEndpoint: rc.Addr})
	voting := serveInProcess(t, ctx, ComponentSpec{Name: "voting-svc", Kind: KindVoting, OTLPEndpoint: rc.Addr})
	web := serveInProcess(t, ctx, ComponentSpec{Name: "web-v1-0", Kind: KindWeb, Version: "v1", Emoji: emoji, Voting: voting, OTLPEndpoint: rc.Addr})

	resp, err := http.Get("http://" + web + "/api/vote?choice=:joy:")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("vote: %s", resp.Status)
	}
	cancel() // components flush their spans as they stop
	services := []string{"web", "emoji-svc", "voting-svc"}
	deadline := time.Now().Add(10 * time.Second)
	for _, service := range services {
		for len(rc.Spans(service)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	traces := map[string]bool{}
	for _, service := range services {
		spans := rc.Spans(service)
		if len(spans) == 0 {
			t.Errorf("no spans from %s", service)
		}
		for _, s := range spans {
			traces[string(s.TraceId)] = true
		}
	}
	if len(traces) != 1 {
		t.Errorf("spans belong to %d traces, want one", len(traces))
	}
}
