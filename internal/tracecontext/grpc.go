package tracecontext

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// UnaryClientInterceptor sends the trace context of each call's ctx as traceparent and
// tracestate metadata (HTTP/2 headers, which Linkerd's proxies read).
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(outgoing(ctx), method, req, reply, cc, opts...)
	}
}

// UnaryServerInterceptor puts the trace context of each incoming call into the handler's
// ctx, so that the calls the handler makes carry it on. Calls without a valid traceparent
// are served untraced: the server is never a trace's edge.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(incoming(ctx), req)
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
