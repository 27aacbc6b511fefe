package metricsim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/pkg/split"
)

func TestTrafficFollowsWeights(t *testing.T) {
	weights := map[string]int64{"web-v1": 90, "web-v2": 10}
	var missing bool
	s, err := New(Config{
		Namespace: "ns", RPS: 1000, Tick: 10 * time.Millisecond,
		Backends: []Backend{{Service: "web-v1", Deployment: "web-v1"}, {Service: "web-v2", Deployment: "web-v2-dep", Behaviour: Behaviour{ErrorRate: 0.5, LatencyMS: 250}}},
		Weights: func(context.Context) (map[string]int64, error) {
			if missing {
				return nil, split.ErrNotFound
			}
			return weights, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Drive the generator directly: deterministic, no timing.
	for i := 0; i < 100; i++ {
		s.generate(weights, 0.01)
	}
	got := s.Served()
	if got["web-v1"] != 900 || got["web-v2-dep"] != 100 {
		t.Fatalf("served %v, want 900/100", got)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`response_total{classification="failure",deployment="web-v2-dep",direction="inbound",namespace="ns",status_code="500",tls="true"}`,
		`response_latency_ms_bucket{deployment="web-v2-dep",direction="inbound",namespace="ns",status_code="200",tls="true",le="300"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if s.Err() != nil {
		t.Errorf("weights error %v", s.Err())
	}
}
