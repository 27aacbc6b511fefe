// Package load runs open-model HTTP load tests on top of vegeta's library: vegeta's pacers,
// targets, results and encoders, with a scheduler that remembers when each request was meant
// to leave so latency can be measured from the intended send time (coordinated omission
// corrected), a fixed-size connection pool, and summaries kept in histograms so memory stays
// flat however long a run lasts.
//
// Requests go out through a Transport chosen per target when an attack starts (transport.go).
// Two pieces stay hand-written because vegeta's attacker cannot provide them: the scheduler
// (vegeta stamps a result with its send time, not the time it was due), and the raw HTTP/1.1
// transport (rawhttp.go), which skips net/http's per-request goroutine hand-offs so that a
// 2-core machine can generate twice the rate on loopback; net/http serves every case the raw
// path does not cover.
package load

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

const (
	// DefaultTimeout is how long one request may take, connection wait included.
	DefaultTimeout = vegeta.DefaultTimeout
	// DefaultLateThreshold is how far behind its intended send time a request may leave before
	// it counts as a late send: the sign that the generator, not the target, was the limit.
	DefaultLateThreshold = 10 * time.Millisecond
	// DefaultMaxWorkers bounds the goroutines in flight when the target stalls. Beyond it, hits
	// wait in the scheduler; they keep their intended send time, so the wait still shows in the
	// corrected latency and in the late sends.
	DefaultMaxWorkers = 10000
	// DefaultIdleConnections is the idle connections kept per host when the connection count is
	// not fixed (vegeta's default).
	DefaultIdleConnections = vegeta.DefaultConnections
)

// Attacker sends the hits of a schedule to a set of targets. The zero value is not usable; build
// one with NewAttacker.
type Attacker struct {
	timeout       time.Duration
	connections   int
	maxWorkers    int
	lateThreshold time.Duration
	tlsConfig     *tls.Config
	keepAlive     bool
	rawPath       bool
}

// NewAttacker returns an Attacker with the defaults above, changed by opts.
func NewAttacker(opts ...func(*Attacker)) *Attacker {
	a := &Attacker{
		timeout:       DefaultTimeout,
		maxWorkers:    DefaultMaxWorkers,
		lateThreshold: DefaultLateThreshold,
		keepAlive:     true,
		rawPath:       true,
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Timeout sets the per-request timeout; 0 means none.
func Timeout(d time.Duration) func(*Attacker) { return func(a *Attacker) { a.timeout = d } }

// Connections fixes the number of connections per host: at most n, reused, and exactly n once n
// requests have been sent. When the schedule asks for more than n connections can carry, hits
// wait for a free connection and the wait counts in the corrected latency. 0 lets the pool grow
// with demand, as vegeta does.
func Connections(n int) func(*Attacker) { return func(a *Attacker) { a.connections = n } }

// MaxWorkers bounds the requests in flight (see DefaultMaxWorkers).
func MaxWorkers(n int) func(*Attacker) { return func(a *Attacker) { a.maxWorkers = n } }

// LateThreshold sets how late a send may be before it is counted (see DefaultLateThreshold).
func LateThreshold(d time.Duration) func(*Attacker) {
	return func(a *Attacker) { a.lateThreshold = d }
}

// TLSConfig sets the client TLS configuration.
func TLSConfig(c *tls.Config) func(*Attacker) { return func(a *Attacker) { a.tlsConfig = c } }

// RawPath turns the raw HTTP/1.1 hot path on or off (on by default). It applies with a fixed
// connection count to one plain-HTTP host; net/http serves every other case.
func RawPath(on bool) func(*Attacker) { return func(a *Attacker) { a.rawPath = on } }

// KeepAlive turns connection reuse on or off.
func KeepAlive(on bool) func(*Attacker) { return func(a *Attacker) { a.keepAlive = on } }

// Hit is the outcome of one scheduled request: vegeta's Result (Timestamp is when the request
// went on the wire, Latency the time from there to the end of the response) plus the schedule.
type Hit struct {
	vegeta.Result
	// Target is the index of the target in the TargetSet.
	Target int
	// Intended is when the schedule meant the request to leave.
	Intended time.Time
	// Started is when a worker picked the hit up, before waiting for a connection.
	Started time.Time
	// Offset is the intended send time from the start of the attack.
	Offset time.Duration
}

// Corrected is the latency seen by a client that sent on schedule: from the intended send time
// to the end of the response, so generator lag and connection waits are included.
func (h *Hit) Corrected() time.Duration {
	c := h.Result.End().Sub(h.Intended)
	if c < h.Latency {
		// The scheduler may send a few microseconds early rather than sleep for them.
		return h.Latency
	}
	return c
}

// SendLag is how late the hit was picked up compared with its intended send time.
func (h *Hit) SendLag() time.Duration {
	if d := h.Started.Sub(h.Intended); d > 0 {
		return d
	}
	return 0
}

// Late tells whether the hit left later than the threshold it was attacked with.
func (h *Hit) Late(threshold time.Duration) bool { return h.SendLag() > threshold }

var hitPool = sync.Pool{New: func() any { return new(Hit) }}

// Release returns h to a pool; h must not be used afterwards.
func (h *Hit) Release() {
	*h = Hit{}
	hitPool.Put(h)
}

// earlySleep is the wait below which the scheduler sends at once instead of sleeping: a timer
// costs more than it saves at high rates.
const earlySleep = 50 * time.Microsecond

type tick struct {
	seq      uint64
	intended time.Time
	offset   time.Duration
}

// Attack sends hits to ts at the pace of p for du (du must be > 0, unless p stops by itself),
// until ctx is done. Hits come back on the returned channel, which is closed once every
// request has finished; hits cut short by ctx are dropped, so a cancelled attack still yields
// a consistent partial result. The LateThreshold in force is a.LateThreshold().
func (a *Attacker) Attack(ctx context.Context, ts *TargetSet, p vegeta.Pacer, du time.Duration, name string) <-chan *Hit {
	results := make(chan *Hit, 1024)
	pool := a.newTransports(ts)
	ticks := make(chan tick)
	var wg sync.WaitGroup
	go func() {
		defer func() {
			close(ticks)
			wg.Wait()
			pool.close()
			close(results)
		}()
		workers := 0
		began := time.Now()
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		// An unbounded pacer (vegeta's zero Rate) is a closed loop over MaxWorkers: every hit is
		// due when a worker is free.
		unbounded := isUnbounded(p)
		var sched time.Duration
		for n := uint64(0); ; n++ {
			wait, stop := p.Pace(sched, n)
			if stop {
				return
			}
			sched += wait
			if unbounded {
				sched = time.Since(began)
			}
			if du > 0 && sched > du {
				return
			}
			intended := began.Add(sched)
			if d := time.Until(intended); d > earlySleep {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			} else if ctx.Err() != nil {
				return
			}
			t := tick{seq: n, intended: intended, offset: sched}
			select {
			case ticks <- t:
				continue
			default:
			}
			if workers < a.maxWorkers {
				workers++
				wg.Add(1)
				go a.work(ctx, &wg, ts, pool, name, ticks, results)
			}
			select {
			case ticks <- t:
			case <-ctx.Done():
				return
			}
		}
	}()
	return results
}

// LateThresholdValue reports the threshold a hit is compared with to count as a late send.
func (a *Attacker) LateThresholdValue() time.Duration { return a.lateThreshold }

func (a *Attacker) work(ctx context.Context, wg *sync.WaitGroup, ts *TargetSet, pool *transports, name string, ticks <-chan tick, results chan<- *Hit) {
	defer wg.Done()
	for t := range ticks {
		h := a.hit(ctx, ts, pool, name, t)
		if h == nil {
			continue
		}
		results <- h
	}
}

func (a *Attacker) hit(ctx context.Context, ts *TargetSet, tr *transports, name string, t tick) *Hit {
	h := hitPool.Get().(*Hit)
	h.Started = time.Now()
	h.Intended = t.intended
	h.Offset = t.offset
	h.Seq = t.seq
	h.Attack = name
	idx := ts.pick(t.seq)
	h.Target = idx
	tgt := ts.targets[idx]
	h.Method = tgt.Method
	h.URL = tgt.URL
	if !tr.byTarget[idx].Hit(ctx, tgt, h) {
		h.Release()
		return nil
	}
	return h
}

func isUnbounded(p vegeta.Pacer) bool {
	r, ok := p.(vegeta.ConstantPacer)
	return ok && (r.Freq == 0 || r.Per == 0)
}
