package load

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// startGRPC serves the standard health service with server reflection on loopback.
func startGRPC(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("emojivoto.v1.EmojiService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	reflection.Register(s)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func TestGRPCUnaryTargets(t *testing.T) {
	addr := startGRPC(t)
	tests := []struct {
		name      string
		body      string
		wantCodes map[string]int
		wantErr   string
	}{
		{"serving service", `{"service": "emojivoto.v1.EmojiService"}`, map[string]int{"200": 20}, ""},
		{"unknown service is NOT_FOUND", `{"service": "nope"}`, map[string]int{"404": 20}, ""},
		{"bad JSON request", `{"servce": 1}`, nil, "is not a valid grpc.health.v1.HealthCheckRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := NewTargetSet([]Target{{Target: vegeta.Target{URL: "grpc://" + addr + "/grpc.health.v1.Health/Check", Body: []byte(tt.body)}}})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := NewAttacker(Connections(2)).Run(context.Background(), ts, vegeta.Rate{Freq: 100, Per: time.Second}, 200*time.Millisecond, RunOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for code, n := range tt.wantCodes {
				if rep.StatusCodes[code] < n-1 {
					t.Errorf("status codes %v, want ~%d of %s", rep.StatusCodes, n, code)
				}
			}
		})
	}
}

func TestGRPCTargetErrors(t *testing.T) {
	addr := startGRPC(t)
	tests := []struct{ url, want string }{
		{"grpc://127.0.0.1/grpc.health.v1.Health/Check", "needs host:port"},
		{"grpc://" + addr + "/Check", "needs /package.Service/Method"},
		{"grpc://" + addr + "/grpc.health.v1.Health/Nope", "has no method Nope"},
		{"grpc://" + addr + "/grpc.health.v1.Health/Watch", "streams: only unary methods"},
		{"grpc://" + addr + "/no.Such/Method", "server reflection for no.Such"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			ts, err := NewTargetSet([]Target{{Target: vegeta.Target{URL: tt.url}}})
			if err == nil {
				err = ts.Prepare(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
