package dataplane

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trafficctl/trafficctl/pkg/split"
)

// The proxy in this file is the sandbox's data plane: a real HTTP reverse proxy in front of the
// versions of one apex Service, standing in for the Linkerd proxies that trafficctl steers. It
// honours what trafficctl writes (the live split weights and header routes of whichever router
// steers the apex), balances each version's replicas by peak-EWMA latency like Linkerd (or round
// robin, to show the difference), and exports Linkerd's metric names and labels. It is a
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
	Client    string
	Upstreams []Upstream
	Split     SplitFunc
	Balance   Balance
	// Refresh is how often the split is read (250 ms by default).
	Refresh time.Duration
	// DecayTime is the peak-EWMA time constant (1 s by default): a slow replica's cost decays
	// towards zero at this pace while it gets no traffic, so it is tried again.
	DecayTime time.Duration
}

// Proxy is the running data plane of one apex.
type Proxy struct {
	cfg     ProxyConfig
	reg     *prometheus.Registry
	total   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	pools   map[string]*pool

	mu      sync.Mutex
	routes  routes
	lastErr error
}

// routes is what the live split says: header rules first, then the weights.
type routes struct {
	headers []headerRoute
	weights []weighted
}

type headerRoute struct {
	match split.HeaderMatch
	to    string
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
		cfg.DecayTime = time.Second
	}
	labels := []string{"direction", "namespace", "deployment", "pod", "dst_namespace", "dst_deployment", "tls", "status_code"}
	p := &Proxy{
		cfg: cfg,
		reg: prometheus.NewRegistry(),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "response_total",
			Help: "Total count of HTTP responses (sandbox data plane, Linkerd proxy stand-in)."}, append(labels, "classification")),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "response_latency_ms",
			Help: "Elapsed times between a request's headers being received and its response stream completing (ms).", Buckets: LatencyBucketsMS}, labels),
		pools:  map[string]*pool{},
		routes: routes{weights: []weighted{{cfg.Upstreams[0].Service, 1}}},
	}
	p.reg.MustRegister(p.total, p.latency)
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
			rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
				http.Error(w, "sandbox data plane: "+err.Error(), http.StatusBadGateway)
			}
			pl.replicas = append(pl.replicas, &replica{pod: name, proxy: rp})
		}
		p.pools[u.Service] = pl
	}
	return p, nil
}

// Metrics serves the Prometheus metrics.
func (p *Proxy) Metrics() http.Handler { return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{}) }

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
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr = err
	if err == nil && len(r.weights) > 0 {
		p.routes = r
	}
}

// routesOf keeps the split's rules that name upstreams this proxy knows; a split that names
// none of them (everything to the apex itself) means the default upstream.
func (p *Proxy) routesOf(s *split.Split) routes {
	var r routes
	for _, b := range s.Backends {
		if _, ok := p.pools[b.Service]; ok && b.Weight > 0 {
			r.weights = append(r.weights, weighted{b.Service, b.Weight})
		}
	}
	if len(r.weights) == 0 {
		r.weights = []weighted{{p.cfg.Upstreams[0].Service, 1}}
	}
	for _, rule := range s.Rules {
		if rule.Header == nil || len(rule.Backends) == 0 {
			continue
		}
		if _, ok := p.pools[rule.Backends[0].Service]; ok {
			r.headers = append(r.headers, headerRoute{*rule.Header, rule.Backends[0].Service})
		}
	}
	return r
}

func (p *Proxy) pick(req *http.Request) *pool {
	p.mu.Lock()
	r := p.routes
	p.mu.Unlock()
	for _, h := range r.headers {
		if req.Header.Get(h.match.Name) == h.match.Value {
			return p.pools[h.to]
		}
	}
	var total int64
	for _, w := range r.weights {
		total += w.weight
	}
	n := rand.Int64N(total)
	for _, w := range r.weights {
		if n < w.weight {
			return p.pools[w.service]
		}
		n -= w.weight
	}
	return p.pools[r.weights[0].service]
}

// ServeHTTP proxies one request to the apex.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	pl := p.pick(req)
	rep := pl.next()
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	rep.proxy.ServeHTTP(rec, req)
	elapsed := time.Since(start)
	pl.done(rep, elapsed)
	ms := float64(elapsed) / float64(time.Millisecond)
	code := strconv.Itoa(rec.status)
	class := "success"
	if rec.status >= 500 {
		class = "failure"
	}
	ns, dep := p.cfg.Namespace, pl.up.Deployment
	p.total.WithLabelValues("inbound", ns, dep, rep.pod, "", "", "true", code, class).Inc()
	p.latency.WithLabelValues("inbound", ns, dep, rep.pod, "", "", "true", code).Observe(ms)
	p.total.WithLabelValues("outbound", ns, p.cfg.Client, "", ns, dep, "true", code, class).Inc()
	p.latency.WithLabelValues("outbound", ns, p.cfg.Client, "", ns, dep, "true", code).Observe(ms)
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
}

// costAt decays the replica's latency estimate towards zero for the time it was not updated,
// then weighs it by outstanding requests.
func (p *pool) costAt(r *replica, now time.Time) float64 {
	c := r.cost * math.Exp(-float64(now.Sub(r.stamp))/float64(p.decay))
	return c * float64(r.pending+1)
}

func (p *pool) next() *replica {
	p.mu.Lock()
	defer p.mu.Unlock()
	var r *replica
	switch {
	case len(p.replicas) == 1:
		r = p.replicas[0]
	case p.balance == BalanceRoundRobin:
		r = p.replicas[p.rr%len(p.replicas)]
		p.rr++
	default:
		i := rand.IntN(len(p.replicas))
		j := rand.IntN(len(p.replicas) - 1)
		if j >= i {
			j++
		}
		a, b := p.replicas[i], p.replicas[j]
		now := time.Now()
		if r = a; p.costAt(b, now) < p.costAt(a, now) {
			r = b
		}
	}
	r.pending++
	return r
}

// done records a response: a latency above the estimate replaces it at once (peak), a lower
// one is averaged in with a weight that grows with the time since the last update.
func (p *pool) done(r *replica, elapsed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.pending--
	now := time.Now()
	ms := float64(elapsed) / float64(time.Millisecond)
	if ms > r.cost {
		r.cost = ms
	} else {
		w := math.Exp(-float64(now.Sub(r.stamp)) / float64(p.decay))
		r.cost = r.cost*w + ms*(1-w)
	}
	r.stamp = now
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
