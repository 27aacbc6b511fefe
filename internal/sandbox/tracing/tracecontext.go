// Package tracing carries W3C Trace Context (the traceparent and tracestate headers)
// through the demo app, so that one request through web, emoji and voting is one trace.
//
// Linkerd's proxies record a span for every hop of a request that carries a sampled trace
// context, and export it to the collector. The app only has to forward the context it
// received on every call it makes because of that request, and, at the edge (web), start a
// sampled trace when the request came without one. That is what this package does: Parse and
// String for the header, a context.Context slot, an HTTP middleware (Propagator.Handler),
// Inject for outgoing HTTP requests, and gRPC interceptors. Optionally (NewTracer,
// WithTracer) the app records its own server and client spans and exports them over OTLP/HTTP
// to a collector, so the time spent inside each service shows between the proxies' spans.
package tracing

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Header names from the W3C Trace Context recommendation.
const (
	TraceparentHeader = "traceparent"
	TracestateHeader  = "tracestate"
)

// ErrInvalid is wrapped by every Parse error.
var ErrInvalid = errors.New("invalid traceparent")

// flagSampled is the trace-flags bit asking downstream to record the trace.
const flagSampled = 0x01

// SpanContext is one traceparent value plus the tracestate that travels with it.
type SpanContext struct {
	TraceID [16]byte
	// SpanID is the caller's span: the parent of whatever the callee records.
	SpanID [8]byte
	Flags  byte
	// State is the tracestate header, forwarded unchanged (vendors' data; never parsed).
	State string
}

// Sampled reports whether the caller asked for this trace to be recorded.
func (sc SpanContext) Sampled() bool { return sc.Flags&flagSampled != 0 }

// Valid reports whether both ids are set: the recommendation forbids all-zero ids.
func (sc SpanContext) Valid() bool { return sc.TraceID != [16]byte{} && sc.SpanID != [8]byte{} }

// String is the traceparent header value, version 00.
func (sc SpanContext) String() string {
	return fmt.Sprintf("00-%s-%s-%02x", hex.EncodeToString(sc.TraceID[:]), hex.EncodeToString(sc.SpanID[:]), sc.Flags)
}

// Parse reads a traceparent header value. Versions above 00 are read as 00, as the
// recommendation asks (their extra fields ignored); version ff, upper-case hex, all-zero ids
// and wrong lengths are errors wrapping ErrInvalid.
func Parse(traceparent string) (SpanContext, error) {
	var sc SpanContext
	s := strings.TrimSpace(traceparent)
	if len(s) < 55 {
		return sc, fmt.Errorf("%w %q: want 00-<32 hex>-<16 hex>-<2 hex>", ErrInvalid, traceparent)
	}
	version, err := lowerHex(s[0:2])
	if err != nil || version[0] == 0xff {
		return sc, fmt.Errorf("%w %q: bad version", ErrInvalid, traceparent)
	}
	// Version 00 is exactly 55 characters; a later version may append "-..." fields.
	if s[2] != '-' || s[35] != '-' || s[52] != '-' || (len(s) > 55 && (version[0] == 0 || s[55] != '-')) {
		return sc, fmt.Errorf("%w %q: want 00-<32 hex>-<16 hex>-<2 hex>", ErrInvalid, traceparent)
	}
	trace, err1 := lowerHex(s[3:35])
	span, err2 := lowerHex(s[36:52])
	flags, err3 := lowerHex(s[53:55])
	if err := errors.Join(err1, err2, err3); err != nil {
		return sc, fmt.Errorf("%w %q: %v", ErrInvalid, traceparent, err)
	}
	copy(sc.TraceID[:], trace)
	copy(sc.SpanID[:], span)
	sc.Flags = flags[0]
	if !sc.Valid() {
		return SpanContext{}, fmt.Errorf("%w %q: all-zero trace or span id", ErrInvalid, traceparent)
	}
	return sc, nil
}

// lowerHex decodes lower-case hex only: the recommendation rejects upper case.
func lowerHex(s string) ([]byte, error) {
	if strings.ContainsAny(s, "ABCDEF") {
		return nil, fmt.Errorf("upper-case hex %q", s)
	}
	return hex.DecodeString(s)
}

type contextKey struct{}

// NewContext returns ctx carrying sc, for the calls made on its behalf.
func NewContext(ctx context.Context, sc SpanContext) context.Context {
	return context.WithValue(ctx, contextKey{}, sc)
}

// FromContext returns the trace context ctx carries, if any.
func FromContext(ctx context.Context) (SpanContext, bool) {
	sc, ok := ctx.Value(contextKey{}).(SpanContext)
	return sc, ok
}
