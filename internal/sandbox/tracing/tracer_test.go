package tracing

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/trafficctl/trafficctl/internal/testing/otlptest"
)

func newTracer(t *testing.T, addr, service string) *Tracer {
	t.Helper()
	tr, err := NewTracer(context.Background(), addr, service, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func flush(t *testing.T, trs ...*Tracer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tr := range trs {
		if err := tr.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTracerOneTrace sends a traced request through web (HTTP, Tracer "web") to a real gRPC
// backend (Tracer "emoji") and checks the spans the OTLP receiver decodes form one trace
// under the caller's span: web's server span, its client span for the call, the backend's
// server span; and that the traceparent on the wire names the client span, so a proxy's span
// in between would nest the same way.
func TestTracerOneTrace(t *testing.T) {
	rc := otlptest.Start(t)
	webTracer, emojiTracer := newTracer(t, rc.Addr, "web"), newTracer(t, rc.Addr, "emoji")

	var onWire []string
	var mu sync.Mutex
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		onWire = append(onWire, md.Get(TraceparentHeader)...)
		mu.Unlock()
		return h(ctx, req)
	}
	s := grpc.NewServer(grpc.StatsHandler(ServerHandler(emojiTracer)), grpc.ChainUnaryInterceptor(record))
	healthpb.RegisterHealthServer(s, health.NewServer())
	b := serveGRPC(t, s)
	down := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(down.Close)
	web := startWeb(t, New(WithTracer(webTracer)), webTracer, b, down.URL)

	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tp := range []string{caller, caller[:53] + "00"} { // sampled, then not
		req, _ := http.NewRequest(http.MethodGet, web+"/api/list", nil)
		req.Header.Set(TraceparentHeader, tp)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	flush(t, webTracer, emojiTracer)

	webSpans, emojiSpans := rc.Spans("web"), rc.Spans("emoji")
	if len(webSpans) != 2 || len(emojiSpans) != 1 {
		t.Fatalf("exported web %d spans, emoji %d; want 2 and 1 (none for the unsampled request)", len(webSpans), len(emojiSpans))
	}
	byKind := map[tracepb.Span_SpanKind]*tracepb.Span{}
	for _, sp := range webSpans {
		byKind[sp.Kind] = sp
	}
	server, client, backend := byKind[tracepb.Span_SPAN_KIND_SERVER], byKind[tracepb.Span_SPAN_KIND_CLIENT], emojiSpans[0]
	if server == nil || client == nil || backend.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Fatalf("span kinds: web %v, emoji %v", byKind, backend.Kind)
	}
	want := mustParse(t, caller)
	for _, sp := range []*tracepb.Span{server, client, backend} {
		if hex.EncodeToString(sp.TraceId) != want.TraceID().String() {
			t.Errorf("span %s in trace %x, want the caller's %s", sp.Name, sp.TraceId, want.TraceID())
		}
	}
	for _, link := range []struct {
		child, parent string
		got           []byte
		want          string
	}{
		{"web server", "caller", server.ParentSpanId, want.SpanID().String()},
		{"web client", "web server", client.ParentSpanId, hex.EncodeToString(server.SpanId)},
		{"emoji server", "web client", backend.ParentSpanId, hex.EncodeToString(client.SpanId)},
	} {
		if hex.EncodeToString(link.got) != link.want {
			t.Errorf("%s span's parent %x, want the %s span %x", link.child, link.got, link.parent, link.want)
		}
	}
	if server.Name != "GET /api/list" || client.Name != "grpc.health.v1.Health/Check" || backend.Name != client.Name {
		t.Errorf("span names %q, %q, %q", server.Name, client.Name, backend.Name)
	}
	if len(onWire) != 2 || onWire[0] != "00-"+want.TraceID().String()+"-"+hex.EncodeToString(client.SpanId)+"-01" {
		t.Errorf("traceparents on the wire %v: want the first to name web's client span %x", onWire, client.SpanId)
	}
	// The unsampled request keeps its trace and stays unsampled (its spans are not recorded).
	if len(onWire) == 2 && (!strings.HasPrefix(onWire[1], caller[:36]) || !strings.HasSuffix(onWire[1], "-00")) {
		t.Errorf("unsampled request forwarded %s, want trace %s unsampled", onWire[1], caller[3:35])
	}
}

func TestNewTracerRejectsBadEndpoint(t *testing.T) {
	for _, tc := range []struct{ name, endpoint, service string }{
		{"no port", "collector", "web"},
		{"url", "http://127.0.0.1:4318/v1/traces", "web"},
		{"no service", "127.0.0.1:4318", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewTracer(context.Background(), tc.endpoint, tc.service, "v1"); err == nil {
				t.Errorf("NewTracer(%q, %q) accepted", tc.endpoint, tc.service)
			}
		})
	}
}
