package tracing

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
)

// DefaultSampleRatio is the share of untraced requests Propagator.Handler starts a sampled
// trace for: all of them, as a demo app wants; lower it under real load.
const DefaultSampleRatio = 1.0

// Propagator takes trace context from incoming requests and starts one where none came.
type Propagator struct {
	ratio  float64
	rand   io.Reader
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

// WithRand sets the source of new trace and span ids (tests make them predictable).
func WithRand(r io.Reader) Option { return func(p *Propagator) { p.rand = r } }

// New returns a Propagator; with no options it samples every new trace, ids from crypto/rand.
func New(opts ...Option) *Propagator {
	p := &Propagator{ratio: DefaultSampleRatio, rand: rand.Reader}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Handler puts the request's trace context into its context for next: the one it carried
// when valid, else a new root. A malformed traceparent is replaced, never an error: tracing
// must not fail a request. With a Tracer (WithTracer), next runs inside a server span, which
// becomes the parent of the calls it makes.
func (p *Propagator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc, err := SpanContext{}, ErrInvalid
		// More than one traceparent is as invalid as a malformed one.
		if vals := r.Header.Values(TraceparentHeader); len(vals) == 1 {
			sc, err = Parse(vals[0])
		}
		if err != nil {
			sc = p.Root()
		} else {
			sc.State = strings.Join(r.Header.Values(TracestateHeader), ",")
		}
		p.serve(next, w, r.WithContext(NewContext(r.Context(), sc)))
	})
}

// Root starts a trace: new random ids, sampled with the Propagator's ratio.
func (p *Propagator) Root() SpanContext {
	var sc SpanContext
	var b [8]byte
	for !sc.Valid() {
		if _, err := io.ReadFull(p.rand, sc.TraceID[:]); err != nil {
			// crypto/rand does not fail on supported systems; an exhausted test reader
			// leaves the request untraced rather than failing it.
			return SpanContext{}
		}
		if _, err := io.ReadFull(p.rand, sc.SpanID[:]); err != nil {
			return SpanContext{}
		}
	}
	if _, err := io.ReadFull(p.rand, b[:]); err == nil && float64(binary.BigEndian.Uint64(b[:])>>11)/(1<<53) < p.ratio {
		sc.Flags = flagSampled
	}
	return sc
}

// Inject sets the traceparent and tracestate headers of an outgoing request from ctx; it
// leaves h alone when ctx carries no valid trace context.
func Inject(ctx context.Context, h http.Header) {
	sc, ok := FromContext(ctx)
	if !ok || !sc.Valid() {
		return
	}
	h.Set(TraceparentHeader, sc.String())
	if sc.State != "" {
		h.Set(TracestateHeader, sc.State)
	} else {
		h.Del(TracestateHeader)
	}
}
