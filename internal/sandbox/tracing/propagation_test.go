package tracing

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// backend is a real gRPC server (the standard health service standing in for emoji and
// voting) behind ServerHandler, recording what each call arrived with and what its handler's
// ctx carried on.
type backend struct {
	addr string
	mu   sync.Mutex
	raw  []metadata.MD
	ctx  []trace.SpanContext
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		sc := trace.SpanContextFromContext(ctx)
		b.mu.Lock()
		b.raw, b.ctx = append(b.raw, md), append(b.ctx, sc)
		b.mu.Unlock()
		return h(ctx, req)
	}
	s := grpc.NewServer(grpc.StatsHandler(ServerHandler(nil)), grpc.ChainUnaryInterceptor(record))
	healthpb.RegisterHealthServer(s, health.NewServer())
	b.addr = serveGRPC(t, s)
	return b
}

// serveGRPC serves s on a loopback port until the test ends and returns its address.
func serveGRPC(t *testing.T, s *grpc.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

// startWeb serves like the demo app's web: Handler first, then one gRPC call and one HTTP
// call per request, both on the request's context.
func startWeb(t *testing.T, p *Propagator, tr *Tracer, grpcAddr, httpURL string) string {
	t.Helper()
	cc, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(ClientHandler(tr)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	client := healthpb.NewHealthClient(cc)
	srv := httptest.NewServer(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := client.Check(r.Context(), &healthpb.HealthCheckRequest{}); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, httpURL, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		TraceContext.Inject(r.Context(), propagation.HeaderCarrier(req.Header))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
	})))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPropagation sends requests through a web-like HTTP server to a real gRPC backend and an
// HTTP backend, and checks every call downstream carries the one trace: the incoming context
// when there was one, a new sampled root when there was none or it was malformed.
func TestPropagation(t *testing.T) {
	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name        string
		headers     map[string][]string
		ratio       float64
		want        string // traceparent downstream; "" means a new root
		wantState   string
		wantSampled bool
	}{
		{"incoming kept", map[string][]string{"Traceparent": {incoming}, "Tracestate": {"linkerd=1", "vendor=x"}}, 1, incoming, "linkerd=1,vendor=x", true},
		{"unsampled incoming kept", map[string][]string{"Traceparent": {incoming[:53] + "00"}}, 1, incoming[:53] + "00", "", false},
		{"none: sampled root", nil, 1, "", "", true},
		{"none at ratio 0: unsampled root", nil, 0, "", "", false},
		{"malformed: new root", map[string][]string{"Traceparent": {"00-XYZ"}, "Tracestate": {"stale=1"}}, 1, "", "", true},
		{"two traceparents: new root", map[string][]string{"Traceparent": {incoming, incoming}}, 1, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBackend(t)
			var gotHTTP http.Header
			down := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { gotHTTP = r.Header.Clone() }))
			t.Cleanup(down.Close)
			web := startWeb(t, New(WithSampleRatio(tc.ratio)), nil, b.addr, down.URL)

			req, err := http.NewRequest(http.MethodGet, web, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tc.headers {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("web answered %s", resp.Status)
			}

			if len(b.raw) != 1 {
				t.Fatalf("backend got %d calls, want 1", len(b.raw))
			}
			grpcTP := b.raw[0].Get(TraceparentHeader)
			httpTP := gotHTTP.Values(TraceparentHeader)
			if len(grpcTP) != 1 || len(httpTP) != 1 || grpcTP[0] != httpTP[0] {
				t.Fatalf("gRPC traceparent %v, HTTP traceparent %v: want the same single value", grpcTP, httpTP)
			}
			sc := mustParse(t, grpcTP[0])
			if tc.want != "" && grpcTP[0] != tc.want {
				t.Errorf("downstream traceparent %s, want the incoming %s", grpcTP[0], tc.want)
			}
			if tc.want == "" && sc.TraceID() == mustParse(t, incoming).TraceID() {
				t.Errorf("root reused the incoming trace id")
			}
			if sc.IsSampled() != tc.wantSampled {
				t.Errorf("sampled %v, want %v", sc.IsSampled(), tc.wantSampled)
			}
			if got := b.raw[0].Get(TracestateHeader); tc.wantState != "" && (len(got) != 1 || got[0] != tc.wantState) || tc.wantState == "" && len(got) != 0 {
				t.Errorf("gRPC tracestate %v, want %q", got, tc.wantState)
			}
			if got := gotHTTP.Get(TracestateHeader); got != tc.wantState {
				t.Errorf("HTTP tracestate %q, want %q", got, tc.wantState)
			}
			// The backend's handler carries the same context on to its own calls.
			if got := traceparent(b.ctx[0]); got != grpcTP[0] || b.ctx[0].TraceState().String() != tc.wantState {
				t.Errorf("backend handler ctx %s (state %q), want %s (state %q)", got, b.ctx[0].TraceState(), grpcTP[0], tc.wantState)
			}
		})
	}
}

// mustParse reads a traceparent header value.
func mustParse(t *testing.T, s string) trace.SpanContext {
	t.Helper()
	sc := trace.SpanContextFromContext(TraceContext.Extract(context.Background(), propagation.MapCarrier{TraceparentHeader: s}))
	if !sc.IsValid() {
		t.Fatalf("invalid traceparent %q", s)
	}
	return sc
}

// traceparent is the header value of sc.
func traceparent(sc trace.SpanContext) string {
	c := propagation.MapCarrier{}
	TraceContext.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c[TraceparentHeader]
}

// TestUntracedCallsStayUntraced: a gRPC call without trace context gets no traceparent, and
// the backend's handler gets no trace context.
func TestUntracedCallsStayUntraced(t *testing.T) {
	b := startBackend(t)
	cc, err := grpc.NewClient(b.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(ClientHandler(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := b.raw[0].Get(TraceparentHeader); len(got) != 0 {
		t.Errorf("untraced call sent traceparent %v", got)
	}
	if b.ctx[0].IsValid() {
		t.Errorf("untraced call's handler ctx carries %v", b.ctx[0])
	}
}
