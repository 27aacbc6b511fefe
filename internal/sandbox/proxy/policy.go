package proxy

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Policy is the per-request behaviour Linkerd's proxies take from a ServiceProfile or, when the
// Service has none, from the Service's annotations: route timeouts, retries within a budget,
// response classification, and failure accrual (circuit breaking) of replicas.
type Policy struct {
	// Source names where the policy came from, for logs ("ServiceProfile ns/name").
	Source string
	// Routes are tried in order; the first whose condition matches applies.
	Routes []Route
	// Default applies to requests that match no route.
	Default Route
	// Budget bounds retries of every route.
	Budget RetryBudget
	// Accrual ejects failing replicas; zero MaxFailures disables it.
	Accrual Accrual
}

// Route is one ServiceProfile route, reduced to what the proxy applies.
type Route struct {
	Name string
	// Method and Path (matched against the whole path) select requests; empty matches all.
	Method string
	Path   *regexp.Regexp
	// Retries is how many times a failed request may be tried again (budget permitting).
	Retries int
	// Timeout bounds the whole request, retries included; 0 means none.
	Timeout time.Duration
	// Failure classes responses; nil means status >= 500.
	Failure func(status int) bool
}

func (r *Route) matches(req *http.Request) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, req.Method) {
		return false
	}
	return r.Path == nil || r.Path.MatchString(req.URL.Path)
}

func (r *Route) failed(status int) bool {
	if r.Failure != nil {
		return r.Failure(status)
	}
	return status >= 500
}

// RetryBudget is a ServiceProfile retryBudget: retries may add Ratio of the requests of the
// last TTL, plus MinPerSecond.
type RetryBudget struct {
	Ratio        float64
	MinPerSecond float64
	TTL          time.Duration
}

// DefaultRetryBudget is Linkerd's budget when a ServiceProfile sets none.
var DefaultRetryBudget = RetryBudget{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}

// Accrual is consecutive-failure accrual from the balancer.linkerd.io/failure-accrual
// annotations: a replica failing MaxFailures times in a row gets no traffic for a penalty that
// starts at MinPenalty and doubles, up to MaxPenalty, while it keeps failing its probes.
type Accrual struct {
	MaxFailures int
	MinPenalty  time.Duration
	MaxPenalty  time.Duration
}

// Linkerd's annotation names read by the data plane.
const (
	AnnotationAccrual            = "balancer.linkerd.io/failure-accrual"
	AnnotationAccrualMaxFailures = "balancer.linkerd.io/failure-accrual-consecutive-max-failures"
	AnnotationAccrualMinPenalty  = "balancer.linkerd.io/failure-accrual-consecutive-min-penalty"
	AnnotationAccrualMaxPenalty  = "balancer.linkerd.io/failure-accrual-consecutive-max-penalty"
	AnnotationRetryHTTP          = "retry.linkerd.io/http"
	AnnotationRetryLimit         = "retry.linkerd.io/limit"
	AnnotationTimeoutRequest     = "timeout.linkerd.io/request"
)

// PolicyFunc reads the live policy of the apex; nil means no policy (no retries, no timeouts).
type PolicyFunc func(ctx context.Context) (*Policy, error)

// ProfilePolicy turns a ServiceProfile (linkerd.io/v1alpha2) into a Policy. Routes whose
// condition uses all/any/not are skipped and listed in the returned warnings: the stand-in
// matches method and pathRegex only.
func ProfilePolicy(sp *unstructured.Unstructured) (*Policy, []string, error) {
	p := &Policy{Source: "ServiceProfile " + sp.GetNamespace() + "/" + sp.GetName(), Budget: DefaultRetryBudget}
	var warnings []string
	routes, _, _ := unstructured.NestedSlice(sp.Object, "spec", "routes")
	for i, raw := range routes {
		m, _ := raw.(map[string]any)
		name, _ := m["name"].(string)
		cond, _ := m["condition"].(map[string]any)
		if cond == nil || cond["all"] != nil || cond["any"] != nil || cond["not"] != nil {
			warnings = append(warnings, fmt.Sprintf("route %d (%s): only method and pathRegex conditions are applied by the sandbox data plane; route skipped", i, name))
			continue
		}
		r := Route{Name: name}
		r.Method, _ = cond["method"].(string)
		if re, _ := cond["pathRegex"].(string); re != "" {
			rx, err := regexp.Compile("^(?:" + re + ")$")
			if err != nil {
				return nil, warnings, fmt.Errorf("route %q: pathRegex %q: %w", name, re, err)
			}
			r.Path = rx
		}
		if retry, _ := m["isRetryable"].(bool); retry {
			// A ServiceProfile bounds retries by the budget alone; 3 attempts keep one request's
			// latency bounded here too.
			r.Retries = 2
		}
		if t, _ := m["timeout"].(string); t != "" {
			d, err := time.ParseDuration(t)
			if err != nil || d < 0 {
				return nil, warnings, fmt.Errorf("route %q: timeout %q is not a duration such as 500ms or 10s", name, t)
			}
			r.Timeout = d
		}
		if classes, _ := m["responseClasses"].([]any); len(classes) > 0 {
			r.Failure = responseClasses(classes)
		}
		p.Routes = append(p.Routes, r)
	}
	if b, ok, _ := unstructured.NestedMap(sp.Object, "spec", "retryBudget"); ok {
		ratio, _ := number(b["retryRatio"])
		minPS, _ := number(b["minRetriesPerSecond"])
		ttlS, _ := b["ttl"].(string)
		ttl, err := time.ParseDuration(ttlS)
		if err != nil {
			return nil, warnings, fmt.Errorf("retryBudget.ttl %q: %w", ttlS, err)
		}
		p.Budget = RetryBudget{Ratio: ratio, MinPerSecond: minPS, TTL: ttl}
	}
	return p, warnings, nil
}

// responseClasses classes a status by the first class whose status range matches; others
// fall back to Linkerd's default (>= 500 is a failure).
func responseClasses(classes []any) func(int) bool {
	type class struct {
		min, max int
		failure  bool
	}
	var cs []class
	for _, raw := range classes {
		m, _ := raw.(map[string]any)
		st, ok, _ := unstructured.NestedMap(m, "condition", "status")
		if !ok {
			continue
		}
		lo, _ := number(st["min"])
		hi, okHi := number(st["max"])
		if !okHi {
			hi = 599
		}
		if lo == 0 {
			lo = 100
		}
		f, _ := m["isFailure"].(bool)
		cs = append(cs, class{int(lo), int(hi), f})
	}
	return func(status int) bool {
		for _, c := range cs {
			if status >= c.min && status <= c.max {
				return c.failure
			}
		}
		return status >= 500
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// AnnotationPolicy reads Linkerd's retry, timeout and failure-accrual annotations of a Service
// (used when no ServiceProfile overrides them).
func AnnotationPolicy(source string, ann map[string]string) (*Policy, error) {
	p := &Policy{Source: source, Budget: DefaultRetryBudget}
	if v := ann[AnnotationRetryHTTP]; v != "" {
		fail, err := retryOn(v)
		if err != nil {
			return nil, err
		}
		p.Default.Failure = fail
		p.Default.Retries = 1
		if l := ann[AnnotationRetryLimit]; l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("annotation %s: %q is not a whole number of retries", AnnotationRetryLimit, l)
			}
			p.Default.Retries = n
		}
	}
	if v := ann[AnnotationTimeoutRequest]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("annotation %s: %q is not a duration such as 500ms or 10s", AnnotationTimeoutRequest, v)
		}
		p.Default.Timeout = d
	}
	if ann[AnnotationAccrual] == "consecutive" {
		a := Accrual{MaxFailures: 7, MinPenalty: time.Second, MaxPenalty: time.Minute}
		if v := ann[AnnotationAccrualMaxFailures]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("annotation %s: %q is not a positive number", AnnotationAccrualMaxFailures, v)
			}
			a.MaxFailures = n
		}
		for k, dst := range map[string]*time.Duration{AnnotationAccrualMinPenalty: &a.MinPenalty, AnnotationAccrualMaxPenalty: &a.MaxPenalty} {
			if v := ann[k]; v != "" {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return nil, fmt.Errorf("annotation %s: %q is not a positive duration", k, v)
				}
				*dst = d
			}
		}
		p.Accrual = a
	}
	return p, nil
}

// retryOn parses retry.linkerd.io/http: 5xx, gateway-error (502-504), a status or a range.
func retryOn(v string) (func(int) bool, error) {
	type span struct{ lo, hi int }
	var spans []span
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		switch part {
		case "5xx":
			spans = append(spans, span{500, 599})
		case "gateway-error":
			spans = append(spans, span{502, 504})
		default:
			lo, hi, isRange := strings.Cut(part, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
				return nil, fmt.Errorf("annotation %s: %q is not 5xx, gateway-error, a status or a status range", AnnotationRetryHTTP, part)
			}
			spans = append(spans, span{a, b})
		}
	}
	return func(status int) bool {
		for _, s := range spans {
			if status >= s.lo && status <= s.hi {
				return true
			}
		}
		return false
	}, nil
}

// route returns the route a request follows.
func (p *Policy) route(req *http.Request) *Route {
	for i := range p.Routes {
		if p.Routes[i].matches(req) {
			return &p.Routes[i]
		}
	}
	return &p.Default
}

// budget tracks requests and retries over the last TTL window.
type budget struct {
	mu            sync.Mutex
	start         time.Time
	reqs, retries float64
}

func (b *budget) request(now time.Time, rb RetryBudget) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now, rb)
	b.reqs++
}

// allow takes a retry from the budget.
func (b *budget) allow(now time.Time, rb RetryBudget) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now, rb)
	limit := rb.MinPerSecond*rb.TTL.Seconds() + rb.Ratio*b.reqs
	if b.retries+1 > math.Max(limit, 0) {
		return false
	}
	b.retries++
	return true
}

func (b *budget) roll(now time.Time, rb RetryBudget) {
	if rb.TTL <= 0 {
		rb.TTL = DefaultRetryBudget.TTL
	}
	if now.Sub(b.start) > rb.TTL {
		b.start, b.reqs, b.retries = now, 0, 0
	}
}
