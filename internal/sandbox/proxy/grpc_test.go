package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
)

// grpcBackend serves the demo app's EmojiService on a loopback port.
func grpcBackend(t *testing.T, k *demoapp.Knobs) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := demoapp.NewGRPCServer(nil)
	demoapp.RegisterEmoji(s, k)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

// h2cServer serves h over HTTP/1.1 and HTTP/2 without TLS, as the sandbox's data plane does.
func h2cServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestGRPCThroughProxy(t *testing.T) {
	knobs := demoapp.NewKnobs(demoapp.Behaviour{})
	p, err := NewProxy(ProxyConfig{Namespace: "emojivoto", Client: "web-v1", Authority: "emoji-svc.emojivoto.svc.cluster.local:8080", H2C: true,
		Upstreams: []Upstream{{Service: "emoji-svc", Deployment: "emoji", Replicas: []string{grpcBackend(t, knobs)}, Pods: []string{"emoji-svc"}}},
		Split:     (&splitHolder{}).get})
	if err != nil {
		t.Fatal(err)
	}
	p.refresh(context.Background())
	addr := h2cServer(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for range 3 {
		if err := demoapp.Check(ctx, addr, demoapp.EmojiService); err != nil {
			t.Fatalf("ListAll through the proxy: %v", err)
		}
	}
	knobs.Set(demoapp.Behaviour{FailureRate: 1})
	for range 2 {
		// The server's own status, not "closed the stream without sending trailers".
		if err := demoapp.Check(ctx, addr, demoapp.EmojiService); grpcstatus.Code(err) != codes.Internal || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("ListAll with a 100%% failure rate: %v, want the server's Internal status", err)
		}
	}

	rec := httptest.NewRecorder()
	p.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		// HTTP 200 either way: the gRPC status classifies, and labels, the response.
		`response_total{authority="emoji-svc.emojivoto.svc.cluster.local:8080",classification="success",deployment="web-v1",direction="outbound",dst_deployment="emoji",dst_namespace="emojivoto",grpc_status="0",namespace="emojivoto",pod="",status_code="200",tls="true"} 3`,
		`response_total{authority="emoji-svc.emojivoto.svc.cluster.local:8080",classification="failure",deployment="web-v1",direction="outbound",dst_deployment="emoji",dst_namespace="emojivoto",grpc_status="13",namespace="emojivoto",pod="",status_code="200",tls="true"} 2`,
		`response_total{authority="emoji-svc.emojivoto.svc.cluster.local:8080",classification="failure",deployment="emoji",direction="inbound",dst_deployment="",dst_namespace="",grpc_status="13",namespace="emojivoto",pod="emoji-svc",status_code="200",tls="true"} 2`,
		`request_total{authority="emoji-svc.emojivoto.svc.cluster.local:8080",deployment="emoji",direction="inbound",dst_deployment="",dst_namespace="",namespace="emojivoto",pod="emoji-svc",tls="true"} 5`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestGRPCUnreachableReplica(t *testing.T) {
	// The dead replica's port is freed on 127.0.0.2, so that the proxy's own listener (on
	// 127.0.0.1) can never be given it: the call must be refused, not looped back.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := l.Addr().String()
	l.Close()
	p, err := NewProxy(ProxyConfig{Namespace: "emojivoto", Client: "web-v1", H2C: true,
		Upstreams: []Upstream{{Service: "voting-svc", Deployment: "voting", Replicas: []string{gone}}}, Split: (&splitHolder{}).get})
	if err != nil {
		t.Fatal(err)
	}
	addr := h2cServer(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := demoapp.Check(ctx, addr, demoapp.VotingService); grpcstatus.Code(err) != codes.Unavailable {
		t.Errorf("replica down: %v, want Unavailable from the proxy", err)
	}
}

func TestGRPCMessage(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "no route", "no route"},
		{"percent", "100% down", "100%25 down"},
		{"non-ascii", "caf\u00e9\n", "caf%C3%A9%0A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := grpcMessage(tc.in); got != tc.want {
				t.Errorf("grpcMessage(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// A ServiceProfile route timeout applies to a gRPC method as to an HTTP path: the proxy ends the
// call with DEADLINE_EXCEEDED, a failure, while other methods pass.
func TestGRPCRouteTimeout(t *testing.T) {
	knobs := demoapp.NewKnobs(demoapp.Behaviour{Delay: 300 * time.Millisecond})
	pol := &Policy{Routes: []Route{{Name: "ListAll", Method: http.MethodPost,
		Path: regexp.MustCompile(`^/emojivoto\.v1\.EmojiService/ListAll$`), Timeout: 50 * time.Millisecond}}, Budget: DefaultRetryBudget}
	p, err := NewProxy(ProxyConfig{Namespace: "emojivoto", Client: "web-v1", H2C: true,
		Upstreams: []Upstream{{Service: "emoji-svc", Deployment: "emoji", Replicas: []string{grpcBackend(t, knobs)}}},
		Split:     (&splitHolder{}).get, Policy: func(context.Context) (*Policy, error) { return pol, nil }})
	if err != nil {
		t.Fatal(err)
	}
	p.refresh(context.Background())
	addr := h2cServer(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := demoapp.Check(ctx, addr, demoapp.EmojiService); grpcstatus.Code(err) != codes.DeadlineExceeded {
		t.Errorf("ListAll slower than its 50ms route timeout: %v, want DeadlineExceeded from the proxy", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("ListAll timed out after %s, want about 50ms", d)
	}
	rec := httptest.NewRecorder()
	p.Metrics().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `classification="failure",deployment="web-v1",direction="outbound",dst_deployment="emoji",dst_namespace="emojivoto",grpc_status="4"`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s", want)
	}
}
