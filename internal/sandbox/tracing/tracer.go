package tracing

import (
	"context"
	"fmt"
	"net"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracer records the app's own spans (one server span per request it serves, one client span
// per gRPC call it makes) and exports them over OTLP/HTTP to a collector. It is optional:
// without one, the app still forwards trace context and the proxies' spans alone make the
// trace; with one, the app's spans sit between the proxies' and show time spent inside it.
type Tracer struct {
	tp *sdktrace.TracerProvider
}

// NewTracer exports spans of service (at version) to the OTLP/HTTP receiver at endpoint
// (host:port, plain HTTP, e.g. a local collector's 127.0.0.1:4318). Spans leave in batches;
// Shutdown sends the last one.
func NewTracer(ctx context.Context, endpoint, service, version string) (*Tracer, error) {
	if _, _, err := net.SplitHostPort(endpoint); err != nil {
		return nil, fmt.Errorf("trace collector %q: want host:port of an OTLP/HTTP receiver (e.g. 127.0.0.1:4318): %w", endpoint, err)
	}
	if service == "" {
		return nil, fmt.Errorf("trace collector %s: a service name is required", endpoint)
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	if err != nil {
		return nil, fmt.Errorf("trace exporter for %s: %w", endpoint, err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", service), attribute.String("service.version", version))),
		// A span's parent decides, as it does for the proxies: Propagator.Handler starts the
		// roots, so a span without a parent (a backend called untraced) is never sampled.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())),
	)
	return &Tracer{tp: tp}, nil
}

// Shutdown exports the spans still buffered and stops the Tracer.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

// tracerName names the instrumentation scope of the spans this package starts.
const tracerName = "github.com/trafficctl/trafficctl/internal/sandbox/tracing"

// provider is t's TracerProvider, or a no-op one for a nil Tracer: the no-op provider's spans
// carry their parent's context, so the instrumentation still forwards it.
func (t *Tracer) provider() trace.TracerProvider {
	if t == nil {
		return noop.NewTracerProvider()
	}
	return t.tp
}
