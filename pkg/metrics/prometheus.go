package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/trafficctl/trafficctl/pkg/internal/limits"
)

// DefaultQueryTimeout bounds one query; a slower backend counts as down for that query.
const DefaultQueryTimeout = 10 * time.Second

// Prometheus is the Provider for a Prometheus-compatible HTTP API.
type Prometheus struct {
	address string
	api     promv1.API
	timeout time.Duration
}

// PrometheusOption configures a Prometheus provider.
type PrometheusOption func(*prometheusConfig)

type prometheusConfig struct {
	timeout time.Duration
	client  *http.Client
}

// WithQueryTimeout sets the per-query timeout (DefaultQueryTimeout by default).
func WithQueryTimeout(d time.Duration) PrometheusOption {
	return func(c *prometheusConfig) { c.timeout = d }
}

// WithHTTPClient sets the HTTP client, for example one with custom TLS.
func WithHTTPClient(hc *http.Client) PrometheusOption {
	return func(c *prometheusConfig) { c.client = hc }
}

// NewPrometheus returns a provider for the Prometheus server at address (for example
// http://prometheus.linkerd-viz.svc:9090). It does not contact the server; call Check for that.
func NewPrometheus(address string, opts ...PrometheusOption) (*Prometheus, error) {
	cfg := prometheusConfig{timeout: DefaultQueryTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	// Every answer is read whole by the client library: bound it.
	hc := &http.Client{}
	if cfg.client != nil {
		*hc = *cfg.client
	}
	hc.Transport = limits.Transport(hc.Transport, limits.Response)
	pc := promapi.Config{Address: address, Client: hc}
	c, err := promapi.NewClient(pc)
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", address, err)
	}
	return &Prometheus{address: address, api: promv1.NewAPI(c), timeout: cfg.timeout}, nil
}

// Address is the server's URL.
func (p *Prometheus) Address() string { return p.address }

// Check runs a trivial query so that an unreachable or failing server is reported before any
// traffic moves.
func (p *Prometheus) Check(ctx context.Context) error {
	_, err := p.Query(ctx, "vector(1)", time.Time{})
	if err != nil && !errors.Is(err, ErrBackendDown) {
		// Anything but a clean answer to vector(1) means this is not a working Prometheus API.
		return fmt.Errorf("prometheus at %s: %w: %w", p.address, ErrBackendDown, err)
	}
	return err
}

// Query implements Provider.
func (p *Prometheus) Query(ctx context.Context, query string, at time.Time) (float64, error) {
	if at.IsZero() {
		at = time.Now()
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, _, err := p.api.Query(ctx, query, at)
	if err != nil {
		return 0, p.classify(err, query)
	}
	return single(v, query)
}

// classify maps client errors onto the package's sentinels.
func (p *Prometheus) classify(err error, query string) error {
	var perr *promv1.Error
	if errors.As(err, &perr) {
		switch perr.Type {
		case promv1.ErrBadData, promv1.ErrExec:
			// 400/422: Prometheus parsed the request and rejected the expression.
			return fmt.Errorf("query %q: %w: %s", query, ErrBadQuery, perr.Msg)
		case promv1.ErrClient:
			// Other 4xx: wrong URL path, auth proxy refusing us. Not the query's fault and
			// not a verdict on the canary.
			return fmt.Errorf("prometheus at %s: %w: %s (check the URL and credentials)", p.address, ErrBackendDown, perr.Msg)
		}
	}
	return fmt.Errorf("prometheus at %s: %w: %w", p.address, ErrBackendDown, err)
}

// single extracts the one number a canary query must return.
func single(v model.Value, query string) (float64, error) {
	var f float64
	switch r := v.(type) {
	case model.Vector:
		if len(r) == 0 {
			return 0, fmt.Errorf("query %q: %w (empty result)", query, ErrNoData)
		}
		if len(r) > 1 {
			return 0, fmt.Errorf("query %q: %w: %d series, want one (aggregate with sum)", query, ErrBadQuery, len(r))
		}
		f = float64(r[0].Value)
	case *model.Scalar:
		f = float64(r.Value)
	default:
		return 0, fmt.Errorf("query %q: %w: result type %s, want a vector or scalar", query, ErrBadQuery, v.Type())
	}
	if math.IsNaN(f) {
		return 0, fmt.Errorf("query %q: %w (NaN)", query, ErrNoData)
	}
	return f, nil
}
