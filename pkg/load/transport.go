package load

import (
	"context"
	"net"
	"time"
)

// Transport sends the request of one target and records its outcome, as vegeta's Hitter does
// for vegeta's attacker. The Attacker picks the transport of every target once, when an attack
// starts (newTransports), never per hit; there is one implementation per file:
//   - netHTTP (nethttp.go): net/http, for every HTTP case the raw path does not take;
//   - rawHTTP (rawhttp.go): the raw HTTP/1.1 hot path, for a fixed connection count to one
//     plain-HTTP host;
//   - grpcUnary (grpc.go): unary gRPC calls, for grpc:// targets.
type Transport interface {
	// Hit sends tgt's request and fills in h's Timestamp (when the request went on the wire),
	// Latency, Code, Error, BytesIn and BytesOut. It returns false when ctx cut the request
	// short: h is then no outcome of the target, and the caller drops it.
	Hit(ctx context.Context, tgt *Target, h *Hit) bool
	// Close releases the transport's connections once the attack is over.
	Close()
}

// transports are the transports of one attack.
type transports struct {
	// byTarget is the transport of each target of the TargetSet, by index.
	byTarget []Transport
	// all lists each distinct transport once, to close them.
	all []Transport
}

// newTransports chooses the transport of every target of ts: one for the HTTP targets (raw or
// net/http, see rawHTTPApplies) and one for the gRPC targets, each shared by its targets.
func (a *Attacker) newTransports(ts *TargetSet) *transports {
	tr := &transports{byTarget: make([]Transport, len(ts.targets))}
	var web, rpc Transport
	for i, t := range ts.targets {
		switch {
		case t.grpc != nil && rpc == nil:
			rpc = newGRPCUnary(a.connections, a.timeout)
			tr.all = append(tr.all, rpc)
		case t.grpc == nil && web == nil:
			web = a.newHTTPTransport(ts)
			tr.all = append(tr.all, web)
		}
		if t.grpc != nil {
			tr.byTarget[i] = rpc
		} else {
			tr.byTarget[i] = web
		}
	}
	return tr
}

// newHTTPTransport is the raw path when it applies to ts, else net/http.
func (a *Attacker) newHTTPTransport(ts *TargetSet) Transport {
	if a.rawHTTPApplies(ts) {
		return newRawHTTP(ts.rawAddr, a.connections, a.dialer(), a.timeout)
	}
	return a.newNetHTTP()
}

// rawHTTPApplies tells whether the raw HTTP/1.1 path serves ts: a fixed connection count,
// kept alive, to the one plain-HTTP host of every target, unless RawPath(false).
func (a *Attacker) rawHTTPApplies(ts *TargetSet) bool {
	return a.connections > 0 && a.keepAlive && a.rawPath && ts.rawAddr != ""
}

func (a *Attacker) dialer() *net.Dialer {
	return &net.Dialer{KeepAlive: 30 * time.Second, Timeout: a.timeout}
}

func (tr *transports) close() {
	for _, t := range tr.all {
		t.Close()
	}
}
