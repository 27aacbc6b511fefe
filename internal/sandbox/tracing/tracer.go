package tracing

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracer records the app's own spans (one server span per request it serves, one client span
// per gRPC call it makes) and exports them over OTLP/HTTP to a collector. It is optional:
// without one, the app still forwards trace context and the proxies' spans alone make the
// trace; with one, the app's spans sit between the proxies' and show time spent inside it.
type Tracer struct {
	tp *sdktrace.TracerProvider
	tr trace.Tracer
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
		// Every span has a parent (Propagator.Handler starts the root), whose sampled flag
		// decides, as it does for the proxies.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &Tracer{tp: tp, tr: tp.Tracer("github.com/trafficctl/trafficctl/internal/sandbox/tracing")}, nil
}

// Shutdown exports the spans still buffered and stops the Tracer.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

type tracerKey struct{}

// start begins a span under ctx's trace context and returns ctx carrying the span as the
// parent for the calls made next. Without a Tracer, or for an unsampled trace, it returns ctx
// unchanged and a no-op end.
func (t *Tracer) start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	sc, ok := FromContext(ctx)
	if t == nil || !ok || !sc.Valid() {
		return ctx, trace.SpanFromContext(context.Background())
	}
	ts, _ := trace.ParseTraceState(sc.State) // an unparsable tracestate is dropped, not fatal
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: sc.TraceID, SpanID: sc.SpanID, TraceFlags: trace.TraceFlags(sc.Flags), TraceState: ts, Remote: true,
	})
	octx, span := t.tr.Start(trace.ContextWithRemoteSpanContext(ctx, parent), name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	if !span.IsRecording() {
		return ctx, span
	}
	sc.SpanID = span.SpanContext().SpanID()
	return context.WithValue(NewContext(octx, sc), tracerKey{}, t), span
}

func tracerFrom(ctx context.Context) *Tracer {
	t, _ := ctx.Value(tracerKey{}).(*Tracer)
	return t
}

// WithTracer makes Handler record a server span per request with t, and the gRPC calls made
// on the request's context record client spans.
func WithTracer(t *Tracer) Option { return func(p *Propagator) { p.tracer = t } }

// statusWriter remembers the status code the handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serve runs next inside a server span when the Propagator has a Tracer.
func (p *Propagator) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if p.tracer == nil {
		next.ServeHTTP(w, r)
		return
	}
	ctx, span := p.tracer.start(r.Context(), r.Method+" "+r.URL.Path, trace.SpanKindServer,
		attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path))
	defer span.End()
	sw := &statusWriter{ResponseWriter: w}
	next.ServeHTTP(sw, r.WithContext(ctx))
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
	if sw.status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(sw.status))
	}
}

// rpcSpan starts a gRPC span for method (/package.Service/Method).
func rpcSpan(ctx context.Context, t *Tracer, method string, kind trace.SpanKind) (context.Context, trace.Span) {
	return t.start(ctx, method, kind, attribute.String("rpc.system", "grpc"), attribute.String("rpc.method", method))
}

func endRPC(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
