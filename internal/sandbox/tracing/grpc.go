package tracing

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc/stats"
)

// ClientHandler is the gRPC stats handler (grpc.WithStatsHandler) that sends the trace
// context of each call's ctx as traceparent and tracestate metadata (HTTP/2 headers, which
// Linkerd's proxies read). With a Tracer, a call made for a sampled trace is recorded as a
// client span, which becomes the callee's parent; t may be nil.
func ClientHandler(t *Tracer) stats.Handler {
	return otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(t.provider()), otelgrpc.WithPropagators(TraceContext))
}

// ServerHandler is the gRPC stats handler (grpc.StatsHandler) that puts the trace context of
// each incoming call into the handler's ctx, so that the calls the handler makes carry it on;
// with a Tracer it records the call as a server span. A call without a sampled traceparent is
// not recorded: a backend is never a trace's edge. t may be nil.
func ServerHandler(t *Tracer) stats.Handler {
	return otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(t.provider()), otelgrpc.WithPropagators(TraceContext))
}
