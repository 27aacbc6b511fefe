// Package proxy is the sandbox's stand-in for the parts of Linkerd's data plane that trafficctl
// depends on: an L7 proxy on loopback that routes by the live TrafficSplit or HTTPRoute weights,
// applies ServiceProfile and annotation retries and timeouts, failure accrual and peak-EWMA
// balancing, classifies gRPC responses as Linkerd does, and exports Linkerd-named metrics.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

// The proxy in this file is the sandbox's data plane: a real HTTP reverse proxy in front of the
// versions of one apex Service, standing in for the Linkerd proxies that trafficctl steers. It
// honours what trafficctl writes (the live split of whichever router steers the apex: weights,
// HTTPRoute rules with Linkerd's precedence, header routes; ServiceProfile and annotation
// retries, timeouts and failure accrual, see policy.go), balances each version's replicas by
// peak-EWMA latency like Linkerd (or round robin, to show the difference), and exports
// Linkerd's metric names and labels. It proxies gRPC too (H2C: HTTP/2 without TLS to the
// replicas), classifying responses by grpc-status as Linkerd does (grpc.go). It is a
// faithful stand-in for those parts only, not a production mesh: no mTLS (series carry
// tls="true" as a meshed pod's would), no discovery beyond the replicas it is given.

// Upstream is one version behind the apex: its backend Service, its Deployment and the
// addresses (host:port) of its replicas.
type Upstream struct {
	Service    string
	Deployment string
	// Replicas are named by Pods[i] in the metrics; Pods may be empty (deployment-i).
	Replicas []string
	Pods     []string
}

// SplitFunc reads the live split of the apex. An error matching split.ErrNotFound means no
// router steers it yet: everything goes to the default (first) upstream.
type SplitFunc func(ctx context.Context) (*split.Split, error)

// Balance is how a version's replicas share its traffic.
type Balance string

// Balancing algorithms.
const (
	// BalanceEWMA sends each request to the cheaper of two random replicas, cost being the
	// peak-EWMA latency times outstanding requests (Linkerd's and Finagle's algorithm).
	BalanceEWMA Balance = "ewma"
	// BalanceRoundRobin cycles through the replicas whatever their latency.
	BalanceRoundRobin Balance = "round-robin"
)

// ParseBalance checks a --balance value.
func ParseBalance(s string) (Balance, error) {
	switch b := Balance(s); b {
	case BalanceEWMA, BalanceRoundRobin:
		return b, nil
	}
	return "", fmt.Errorf("unknown balancing %q: use ewma or round-robin", s)
}

// ProxyConfig describes the apex a Proxy fronts.
type ProxyConfig struct {
	Namespace string
	// Client is the Deployment the outbound metrics are reported for (the caller's proxy).
	Client string
	// Authority is the apex's name as clients address it (svc.ns.svc.cluster.local:port), the
	// authority label of the metrics.
	Authority string
	Upstreams []Upstream
	// H2C makes the proxy speak HTTP/2 without TLS (prior knowledge) to the replicas, as gRPC
	// needs; the server in front of the proxy must accept it too (http.Server.Protocols).
	H2C bool
	// Metrics is where the proxy's series go; nil gives the proxy a registry of its own. Proxies
	// of one process share one, as the hops of one Linkerd proxy share its /metrics.
	Metrics *Metrics
	Split   SplitFunc
	// Policy reads the apex's ServiceProfile or annotation policy (retries, timeouts, failure
	// accrual); nil applies none.
	Policy  PolicyFunc
	Balance Balance
	// Refresh is how often the split is read (250 ms by default).
	Refresh time.Duration
	// DecayTime is the peak-EWMA time constant (10 s by default, as Linkerd's): a slow
	// replica's cost decays towards zero at this pace while it gets no traffic, so it is tried
	// again now and then.
	DecayTime time.Duration
}

// Metrics are the Linkerd proxy series of one or more Proxies: request_total,
// response_total (classified as Linkerd does: by grpc-status when the response has one, else
// HTTP status >= 500 or the route's response classes) and response_latency_ms.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	total    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the series in a registry of their own.
func NewMetrics() *Metrics {
	labels := []string{"direction", "namespace", "deployment", "pod", "dst_namespace", "dst_deployment", "authority", "tls"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "request_total",
			Help: "Total count of HTTP requests (sandbox data plane, Linkerd proxy stand-in)."}, labels),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "response_total",
			Help: "Total count of HTTP responses (sandbox data plane, Linkerd proxy stand-in)."}, append(slices.Clone(labels), "status_code", "classification", "grpc_status")),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "response_latency_ms",
			Help: "Elapsed times between a request's headers being received and its response stream completing (ms).", Buckets: metrics.LinkerdLatencyBucketsMS}, append(slices.Clone(labels), "status_code")),
	}
	m.reg.MustRegister(m.requests, m.total, m.latency)
	return m
}

// Handler serves the series in Prometheus' text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Proxy is the running data plane of one apex.
type Proxy struct {
	cfg   ProxyConfig
	m     *Metrics
	pools map[string]*pool

	budget budget

	mu      sync.Mutex
	routes  routes
	policy  *Policy
	lastErr error
}

// routes is what the live split says: the rules of the HTTPRoutes (or the TrafficSplit's one
// rule), and the weights of ordinary traffic.
type routes struct {
	rules   []rule
	weights []weighted
}

type weighted struct {
	service string
	weight  int64
}

// NewProxy checks cfg and builds the proxy; Run keeps its routes current.
func NewProxy(cfg ProxyConfig) (*Proxy, error) {
	if len(cfg.Upstreams) == 0 || cfg.Split == nil {
		return nil, errors.New("dataplane proxy: need upstreams and a split source")
	}
	if cfg.Balance == "" {
		cfg.Balance = BalanceEWMA
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = 250 * time.Millisecond
	}
	if cfg.DecayTime == 0 {
		cfg.DecayTime = 10 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	p := &Proxy{
		cfg:    cfg,
		m:      cfg.Metrics,
		pools:  map[string]*pool{},
		routes: routes{weights: []weighted{{cfg.Upstreams[0].Service, 1}}},
	}
	transport := http.DefaultTransport
	if cfg.H2C {
		var protocols http.Protocols
		protocols.SetUnencryptedHTTP2(true)
		transport = &http.Transport{Protocols: &protocols, IdleConnTimeout: 90 * time.Second}
	}
	for _, u := range cfg.Upstreams {
		if len(u.Replicas) == 0 {
			return nil, fmt.Errorf("dataplane proxy: upstream %s has no replicas", u.Service)
		}
		pl := &pool{up: u, balance: cfg.Balance, decay: cfg.DecayTime}
		for i, addr := range u.Replicas {
			target, err := url.Parse("http://" + addr)
			if err != nil {
				return nil, fmt.Errorf("dataplane proxy: replica %q of %s: %w", addr, u.Service, err)
			}
			name := fmt.Sprintf("%s-%d", u.Deployment, i)
			if i < len(u.Pods) {
				name = u.Pods[i]
			}
			rp := httputil.NewSingleHostReverseProxy(target)
			rp.Transport = transport
			rp.ModifyResponse = grpcTrailersOnly
			rp.ErrorHandler = proxyError
			pl.replicas = append(pl.replicas, &replica{pod: name, proxy: rp})
		}
		p.pools[u.Service] = pl
	}
	return p, nil
}

// Metrics serves the Prometheus metrics (of every Proxy sharing this one's Metrics).
func (p *Proxy) Metrics() http.Handler { return p.m.Handler() }

// Run reads the split every Refresh until ctx ends.
func (p *Proxy) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.Refresh)
	defer t.Stop()
	for {
		p.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Err is the last error reading the split, nil when the last read worked.
func (p *Proxy) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// Weights returns the weights requests follow now, by backend Service.
func (p *Proxy) Weights() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int64{}
	for _, w := range p.routes.weights {
		out[w.service] += w.weight
	}
	return out
}

func (p *Proxy) refresh(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := p.cfg.Split(rctx)
	var r routes
	switch {
	case errors.Is(err, split.ErrNotFound):
		err = nil
		r.weights = []weighted{{p.cfg.Upstreams[0].Service, 1}}
	case err == nil:
		r = p.routesOf(s)
	}
	if errors.Is(err, split.ErrNotFound) || (err == nil && len(r.rules) == 0 && len(r.weights) == 0) {
		r.rules = nil
	}
	var pol *Policy
	var polErr error
	if p.cfg.Policy != nil {
		pol, polErr = p.cfg.Policy(rctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr = errors.Join(err, polErr)
	if err == nil && len(r.weights) > 0 {
		p.routes = r
	}
	if p.cfg.Policy != nil && polErr == nil {
		p.policy = pol
	}
}

// routesOf keeps the split's rules with the upstreams this proxy knows. A rule whose backends
// are none of them (no backendRefs, or the apex itself) sends to the default upstream, as a
// rule without backendRefs sends to the parent Service in Linkerd.
func (p *Proxy) routesOf(s *split.Split) routes {
	def := []weighted{{p.cfg.Upstreams[0].Service, 1}}
	known := func(bs []split.Backend) []weighted {
		var ws []weighted
		for _, b := range bs {
			if _, ok := p.pools[b.Service]; ok && b.Weight > 0 {
				ws = append(ws, weighted{b.Service, b.Weight})
			}
		}
		if len(ws) == 0 {
			return def
		}
		return ws
	}
	r := routes{weights: known(s.Backends)}
	for _, rs := range s.Rules {
		ru := rule{alts: parseMatch(rs.Match), weights: known(rs.Backends)}
		if rs.Header != nil {
			for i := range ru.alts {
				ru.alts[i].headers = append(ru.alts[i].headers, [2]string{rs.Header.Name, rs.Header.Value})
			}
		}
		r.rules = append(r.rules, ru)
	}
	return r
}

// errNoRoute means HTTPRoutes steer the apex but none of their rules matches the request:
// Linkerd answers 404.
var errNoRoute = errors.New("no HTTPRoute rule matches the request")

// pick chooses the upstream of a request: the most specific matching rule's weights (Linkerd's
// precedence: longest path match, then headers, query parameters and method, then order), or
// the split's weights when it has no rules.
func (p *Proxy) pick(req *http.Request) (*pool, error) {
	p.mu.Lock()
	r := p.routes
	p.mu.Unlock()
	ws := r.weights
	if len(r.rules) > 0 {
		var best *rule
		bestScore := score{-1, 0, 0, 0}
		for i := range r.rules {
			for _, alt := range r.rules[i].alts {
				if sc, ok := alt.match(req); ok && sc.better(bestScore) {
					best, bestScore = &r.rules[i], sc
				}
			}
		}
		if best == nil {
			return nil, errNoRoute
		}
		ws = best.weights
	}
	var total int64
	for _, w := range ws {
		total += w.weight
	}
	n := rand.Int64N(total)
	for _, w := range ws {
		if n < w.weight {
			return p.pools[w.service], nil
		}
		n -= w.weight
	}
	return p.pools[ws[0].service], nil
}

// ServeHTTP proxies one request to the apex: it picks a version by the split and a replica by
// the balancer, and applies the matching route's timeout (for the whole request) and retries
// (failed attempts go through the balancer again, while the budget allows). Every attempt is
// counted in the inbound metrics of the replica that answered it, the request once in the
// outbound metrics of the client.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p.mu.Lock()
	pol := p.policy
	p.mu.Unlock()
	rt, rb, acc := &Route{}, DefaultRetryBudget, Accrual{}
	if pol != nil {
		rt, rb, acc = pol.route(req), pol.Budget, pol.Accrual
	}
	start := time.Now()
	p.budget.request(start, rb)
	if rt.Timeout > 0 {
		ctx, cancel := context.WithTimeout(req.Context(), rt.Timeout)
		defer cancel()
		req = req.WithContext(ctx)
	}
	retries := rt.Retries
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0 {
		retries = 0 // the body cannot be sent again
	}
	ns, auth := p.cfg.Namespace, p.cfg.Authority
	var status int
	var grpcStatus string
	var dep string
	for attempt := 0; ; attempt++ {
		pl, err := p.pick(req)
		if err != nil {
			http.Error(w, "sandbox data plane: "+err.Error(), http.StatusNotFound)
			return
		}
		rep := pl.next(acc)
		dep = pl.up.Deployment
		p.m.requests.WithLabelValues("inbound", ns, dep, rep.pod, "", "", auth, "true").Inc()
		t0 := time.Now()
		last := attempt >= retries
		var buf *bufferedResponse
		if last {
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			rep.proxy.ServeHTTP(rec, req)
			status, grpcStatus = rec.status, grpcStatusOf(w.Header())
		} else {
			buf = &bufferedResponse{header: http.Header{}, status: http.StatusOK}
			rep.proxy.ServeHTTP(buf, req)
			status, grpcStatus = buf.status, grpcStatusOf(buf.header)
		}
		elapsed := time.Since(t0)
		failed := rt.classify(status, grpcStatus)
		pl.done(rep, elapsed, failed, acc)
		code, class := strconv.Itoa(status), classification(failed)
		p.m.total.WithLabelValues("inbound", ns, dep, rep.pod, "", "", auth, "true", code, class, grpcStatus).Inc()
		p.m.latency.WithLabelValues("inbound", ns, dep, rep.pod, "", "", auth, "true", code).Observe(msOf(elapsed))
		if last {
			break
		}
		if failed && req.Context().Err() == nil && p.budget.allow(time.Now(), rb) {
			continue
		}
		buf.writeTo(w)
		break
	}
	code, class := strconv.Itoa(status), classification(rt.classify(status, grpcStatus))
	p.m.requests.WithLabelValues("outbound", ns, p.cfg.Client, "", ns, dep, auth, "true").Inc()
	p.m.total.WithLabelValues("outbound", ns, p.cfg.Client, "", ns, dep, auth, "true", code, class, grpcStatus).Inc()
	p.m.latency.WithLabelValues("outbound", ns, p.cfg.Client, "", ns, dep, auth, "true", code).Observe(msOf(time.Since(start)))
}

func classification(failed bool) string {
	if failed {
		return "failure"
	}
	return "success"
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bufferedResponse holds an attempt's response until the proxy knows it will not retry.
type bufferedResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// pool balances one upstream's replicas.
type pool struct {
	up       Upstream
	balance  Balance
	decay    time.Duration
	mu       sync.Mutex
	replicas []*replica
	rr       int
}

type replica struct {
	pod     string
	proxy   *httputil.ReverseProxy
	pending int
	cost    float64 // peak-EWMA latency in ms as of stamp
	stamp   time.Time
	// Failure accrual: consecutive failures, the current penalty (non-zero once ejected, until
	// a success) and the end of the ejection.
	fails        int
	penalty      time.Duration
	ejectedUntil time.Time
}

// costAt decays the replica's latency estimate towards zero for the time it was not updated,
// then weighs it by outstanding requests.
func (p *pool) costAt(r *replica, now time.Time) float64 {
	c := r.cost * math.Exp(-float64(now.Sub(r.stamp))/float64(p.decay))
	return c * float64(r.pending+1)
}

// next picks a replica among those not ejected by failure accrual (all of them when every one
// is ejected: failing somewhere beats failing fast everywhere).
func (p *pool) next(acc Accrual) *replica {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	cands := p.replicas
	if acc.MaxFailures > 0 {
		cands = make([]*replica, 0, len(p.replicas))
		for _, r := range p.replicas {
			if !now.Before(r.ejectedUntil) {
				cands = append(cands, r)
			}
		}
		if len(cands) == 0 {
			cands = p.replicas
		}
	}
	var r *replica
	switch {
	case len(cands) == 1:
		r = cands[0]
	case p.balance == BalanceRoundRobin:
		r = cands[p.rr%len(cands)]
		p.rr++
	default:
		i := rand.IntN(len(cands))
		j := rand.IntN(len(cands) - 1)
		if j >= i {
			j++
		}
		a, b := cands[i], cands[j]
		if r = a; p.costAt(b, now) < p.costAt(a, now) {
			r = b
		}
	}
	r.pending++
	return r
}

// done records a response: a latency above the estimate replaces it at once (peak), a lower
// one is averaged in with a weight that grows with the time since the last update. Failures
// accrue: MaxFailures in a row eject the replica for a penalty; a replica back from ejection
// that fails again is ejected for twice as long (up to MaxPenalty).
func (p *pool) done(r *replica, elapsed time.Duration, failed bool, acc Accrual) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.pending--
	now := time.Now()
	ms := msOf(elapsed)
	if ms > r.cost {
		r.cost = ms
	} else {
		w := math.Exp(-float64(now.Sub(r.stamp)) / float64(p.decay))
		r.cost = r.cost*w + ms*(1-w)
	}
	r.stamp = now
	if !failed {
		r.fails, r.penalty = 0, 0
		return
	}
	r.fails++
	if acc.MaxFailures <= 0 || (r.fails < acc.MaxFailures && r.penalty == 0) {
		return
	}
	switch {
	case r.penalty == 0:
		r.penalty = acc.MinPenalty
	case now.Before(r.ejectedUntil):
		return // answered a request sent before the ejection
	default:
		r.penalty = min(2*r.penalty, acc.MaxPenalty)
	}
	r.ejectedUntil, r.fails = now.Add(r.penalty), 0
}

// SetBalance changes how every version's replicas are balanced from the next request on.
func (p *Proxy) SetBalance(b Balance) {
	for _, pl := range p.pools {
		pl.mu.Lock()
		pl.balance = b
		pl.mu.Unlock()
	}
	p.mu.Lock()
	p.cfg.Balance = b
	p.mu.Unlock()
}

// Balance returns the balancing in use.
func (p *Proxy) Balance() Balance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.Balance
}
