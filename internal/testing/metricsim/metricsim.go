// Package metricsim simulates the metrics of Linkerd's data plane for tests: it serves,
// on a loopback HTTP port, the inbound metrics that Linkerd's proxies export
// (response_total, response_latency_ms_bucket) for a set of Deployments, with request counts
// that follow the live traffic split read from the API server, and an error rate and latency
// set per Deployment while it runs.
package metricsim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

// Behaviour is how one backend answers.
type Behaviour struct {
	// ErrorRate is the fraction of requests that fail (HTTP 500, classification="failure").
	ErrorRate float64
	// LatencyMS is every response's latency.
	LatencyMS float64
}

// Backend is a Service the split may send to, and the Deployment serving it.
type Backend struct {
	Service    string
	Deployment string
	Behaviour  Behaviour
}

// WeightsFunc reads the live split: backend Service name to weight. An error matching
// split.ErrNotFound means no split exists yet: everything goes to the default backend.
type WeightsFunc func(ctx context.Context) (map[string]int64, error)

// RouterWeights reads weights through a split.Router.
func RouterWeights(r split.Router, ns, apex string) WeightsFunc {
	return func(ctx context.Context) (map[string]int64, error) {
		s, err := r.Get(ctx, ns, apex)
		if err != nil {
			return nil, err
		}
		w := map[string]int64{}
		for _, b := range s.Backends {
			w[b.Service] += b.Weight
		}
		return w, nil
	}
}

// Config describes the simulated traffic.
type Config struct {
	Namespace string
	// RPS is the apex's total request rate.
	RPS float64
	// Backends lists every version; the first is the default when no split exists.
	Backends []Backend
	Weights  WeightsFunc
	// Tick is how often traffic is generated and weights are read (100 ms by default).
	Tick time.Duration
}

// Server generates the traffic and serves its metrics.
type Server struct {
	cfg      Config
	reg      *prometheus.Registry
	total    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	mu       sync.Mutex
	behave   map[string]Behaviour
	carry    map[string]float64
	served   map[string]float64
	lastErr  error
	addr     string
	srv      *http.Server
	stopLoop context.CancelFunc
	done     chan struct{}
}

// New builds a server; Start runs it.
func New(cfg Config) (*Server, error) {
	if cfg.RPS <= 0 || len(cfg.Backends) == 0 || cfg.Weights == nil {
		return nil, errors.New("metricsim: need a positive RPS, backends and a weights source")
	}
	if cfg.Tick == 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	labels := []string{"direction", "namespace", "deployment", "tls", "status_code", "classification"}
	s := &Server{
		cfg: cfg,
		reg: prometheus.NewRegistry(),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "response_total",
			Help: "Total count of HTTP responses (Linkerd proxy stand-in)."}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "response_latency_ms",
			Help: "Elapsed times between a request's headers being received and its response stream completing (ms).", Buckets: metrics.LinkerdLatencyBucketsMS},
			[]string{"direction", "namespace", "deployment", "tls", "status_code"}),
		behave: map[string]Behaviour{},
		carry:  map[string]float64{},
		served: map[string]float64{},
	}
	s.reg.MustRegister(s.total, s.latency)
	for _, b := range cfg.Backends {
		s.behave[b.Deployment] = b.Behaviour
	}
	return s, nil
}

// Start listens on a free 127.0.0.1 port and starts the traffic.
func (s *Server) Start() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("metricsim: listen: %w", err)
	}
	s.addr = l.Addr().String()
	s.srv = &http.Server{Handler: promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopLoop, s.done = cancel, make(chan struct{})
	go s.loop(ctx)
	return nil
}

// Addr is the host:port serving /metrics.
func (s *Server) Addr() string { return s.addr }

// Stop ends the traffic and the server.
func (s *Server) Stop() {
	s.stopLoop()
	<-s.done
	_ = s.srv.Close()
}

// Set changes a Deployment's behaviour from now on.
func (s *Server) Set(deployment string, b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behave[deployment] = b
}

// Served returns how many requests each Deployment has answered.
func (s *Server) Served() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]float64, len(s.served))
	for k, v := range s.served {
		out[k] = v
	}
	return out
}

// Err returns the last error reading the weights (nil when the last read worked).
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *Server) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	weights := map[string]int64{s.cfg.Backends[0].Service: 1}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		w, err := s.cfg.Weights(rctx)
		cancel()
		switch {
		case errors.Is(err, split.ErrNotFound):
			weights = map[string]int64{s.cfg.Backends[0].Service: 1}
			err = nil
		case err == nil && len(w) > 0:
			weights = w
		}
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		s.generate(weights, s.cfg.Tick.Seconds())
	}
}

// generate serves dt seconds of traffic split by weights, in exact fractional amounts carried
// over between ticks, so that counts are deterministic.
func (s *Server) generate(weights map[string]int64, dt float64) {
	var total int64
	for _, w := range weights {
		total += w
	}
	if total <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.cfg.Backends {
		w := weights[b.Service]
		if w <= 0 {
			continue
		}
		beh := s.behave[b.Deployment]
		n := s.take(b.Deployment+"/req", s.cfg.RPS*dt*float64(w)/float64(total))
		if n == 0 {
			continue
		}
		failed := s.take(b.Deployment+"/fail", n*beh.ErrorRate)
		s.served[b.Deployment] += n
		ns := s.cfg.Namespace
		if ok := n - failed; ok > 0 {
			s.total.WithLabelValues("inbound", ns, b.Deployment, "true", StatusOK, "success").Add(ok)
			s.observe(ns, b.Deployment, StatusOK, ok, beh.LatencyMS)
		}
		if failed > 0 {
			s.total.WithLabelValues("inbound", ns, b.Deployment, "true", StatusFailed, "failure").Add(failed)
			s.observe(ns, b.Deployment, StatusFailed, failed, beh.LatencyMS)
		}
	}
}

func (s *Server) take(key string, amount float64) float64 {
	s.carry[key] += amount
	n := math.Floor(s.carry[key])
	s.carry[key] -= n
	return n
}

func (s *Server) observe(ns, deployment, code string, n, ms float64) {
	h := s.latency.WithLabelValues("inbound", ns, deployment, "true", code)
	for i := 0; i < int(n); i++ {
		h.Observe(ms)
	}
}

// Status codes of the exported series.
var (
	StatusOK     = strconv.Itoa(http.StatusOK)
	StatusFailed = strconv.Itoa(http.StatusInternalServerError)
)
