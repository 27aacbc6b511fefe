package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// UnaryClientInterceptor sends the trace context of each call's ctx as traceparent and
// tracestate metadata (HTTP/2 headers, which Linkerd's proxies read). When ctx comes from a
// traced request (Propagator.Handler or UnaryServerInterceptor with a Tracer), the call is
// recorded as a client span, which becomes the callee's parent.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, span := rpcSpan(ctx, tracerFrom(ctx), method, trace.SpanKindClient)
		err := invoker(outgoing(ctx), method, req, reply, cc, opts...)
		endRPC(span, err)
		return err
	}
}

// UnaryServerInterceptor puts the trace context of each incoming call into the handler's
// ctx, so that the calls the handler makes carry it on; with a non-nil Tracer it records the
// call as a server span. Calls without a valid traceparent are served untraced: a backend is
// never a trace's edge.
func UnaryServerInterceptor(t *Tracer) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, span := rpcSpan(incoming(ctx), t, info.FullMethod, trace.SpanKindServer)
		resp, err := handler(ctx, req)
		endRPC(span, err)
		return resp, err
	}
}

func outgoing(ctx context.Context) context.Context {
	sc, ok := FromContext(ctx)
	if !ok || !sc.Valid() {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set(TraceparentHeader, sc.String())
	if sc.State != "" {
		md.Set(TracestateHeader, sc.State)
	} else {
		md.Delete(TracestateHeader)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

func incoming(ctx context.Context) context.Context {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	vals := md.Get(TraceparentHeader)
	if len(vals) != 1 {
		return ctx
	}
	sc, err := Parse(vals[0])
	if err != nil {
		return ctx
	}
	// The recommendation allows tracestate split over several headers: join them.
	sc.State = strings.Join(md.Get(TracestateHeader), ",")
	return NewContext(ctx, sc)
}
