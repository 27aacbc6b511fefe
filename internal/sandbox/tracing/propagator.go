// Package tracing carries W3C Trace Context (the traceparent and tracestate headers) through
// the demo app, so that one request through web, emoji and voting is one trace.
//
// Linkerd's proxies record a span for every hop of a request that carries a sampled trace
// context, and export it to the collector. The app only has to forward the context it
// received on every call it makes because of that request, and, at the edge (web), start a
// sampled trace when the request came without one. OpenTelemetry does the work: the
// propagation.TraceContext propagator reads and writes the headers, otelhttp wraps web's
// handler and otelgrpc's stats handlers the gRPC clients and servers. Optionally (NewTracer,
// WithTracer) the app records its own server and client spans and exports them over OTLP/HTTP
// to a collector, so the time spent inside each service shows between the proxies' spans;
// without a Tracer the instrumentation runs on a no-op provider, which forwards the incoming
// context unchanged and so leaves the proxies' spans as the whole trace.
//
// What remains hand-written is the edge rule of Propagator.Handler, which OpenTelemetry leaves
// to the application: a request without a valid traceparent (none, malformed, or more than
// one) starts a new root, sampled at the Propagator's ratio, and several tracestate headers are
// joined into one before extraction, as the recommendation allows (OpenTelemetry's header
// carrier reads only the first).
package tracing

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Header names from the W3C Trace Context recommendation.
const (
	TraceparentHeader = "traceparent"
	TracestateHeader  = "tracestate"
)

// TraceContext is the W3C Trace Context propagator every hop of the demo app uses: the format
// Linkerd's proxies read and write.
var TraceContext propagation.TextMapPropagator = propagation.TraceContext{}

// DefaultSampleRatio is the share of untraced requests Propagator.Handler starts a sampled
// trace for: all of them, as a demo app wants; lower it under real load.
const DefaultSampleRatio = 1.0

// Propagator takes trace context from incoming requests and starts one where none came.
type Propagator struct {
	ratio  float64
	tracer *Tracer
}

// Option configures a Propagator.
type Option func(*Propagator)

// WithSampleRatio sets the share (0 to 1, clamped) of requests arriving without a
// traceparent that get a new sampled trace; the others get an unsampled one, which the
// proxies forward without recording.
func WithSampleRatio(r float64) Option {
	return func(p *Propagator) { p.ratio = min(max(r, 0), 1) }
}

// WithTracer makes Handler record a server span per request with t, the parent of the calls
// the handler makes.
func WithTracer(t *Tracer) Option { return func(p *Propagator) { p.tracer = t } }

// New returns a Propagator; with no options it samples every new trace and records no spans.
func New(opts ...Option) *Propagator {
	p := &Propagator{ratio: DefaultSampleRatio}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Handler puts the request's trace context into its context for next: the one it carried
// when valid, else a new root. A malformed traceparent is replaced, never an error: tracing
// must not fail a request. next runs under otelhttp, inside a server span when the Propagator
// has a Tracer.
func (p *Propagator) Handler(next http.Handler) http.Handler {
	// Roots only need ids and a sampling decision: a provider without processors records
	// nothing.
	roots := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.TraceIDRatioBased(p.ratio))).Tracer(tracerName)
	traced := otelhttp.NewHandler(next, "",
		otelhttp.WithTracerProvider(p.tracer.provider()),
		otelhttp.WithPropagators(TraceContext),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traced.ServeHTTP(w, edge(r, roots))
	})
}

// edge returns r ready for extraction: its tracestate headers joined when it carries one valid
// traceparent, else without trace headers and with a new root in its context.
func edge(r *http.Request, roots trace.Tracer) *http.Request {
	if len(r.Header.Values(TraceparentHeader)) == 1 {
		if states := r.Header.Values(TracestateHeader); len(states) > 1 {
			r = r.Clone(r.Context())
			r.Header.Set(TracestateHeader, strings.Join(states, ","))
		}
		if trace.SpanContextFromContext(TraceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))).IsValid() {
			return r
		}
	}
	_, root := roots.Start(r.Context(), "root", trace.WithNewRoot())
	root.End()
	r = r.Clone(trace.ContextWithSpanContext(r.Context(), root.SpanContext()))
	r.Header.Del(TraceparentHeader)
	r.Header.Del(TracestateHeader)
	return r
}
