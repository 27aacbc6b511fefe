package migrate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/trafficctl/trafficctl/pkg/profiles"
)

// Linkerd's annotations on Gateway API routes that a migration writes.
const (
	AnnotationRetryHTTP       = profiles.AnnotationRetryHTTP
	AnnotationRetryGRPC       = profiles.AnnotationRetryGRPC
	AnnotationRetryLimit      = "retry.linkerd.io/limit"
	AnnotationTimeoutRequest  = profiles.AnnotationTimeoutRequest
	AnnotationTimeoutResponse = "timeout.linkerd.io/response"
	// AnnotationMigratedFrom names the objects a route was migrated from.
	AnnotationMigratedFrom = "trafficctl.dev/migrated-from"
)

// Policy is what Linkerd applies to a request once a route matched it: what the proof compares.
type Policy struct {
	Timeout    string `json:"timeout,omitempty"`
	RetryHTTP  string `json:"retryHTTP,omitempty"`
	RetryGRPC  string `json:"retryGRPC,omitempty"`
	RetryLimit string `json:"retryLimit,omitempty"`
	// Backends are "service:port=weight" sorted by service; empty means the parent Service.
	Backends string `json:"backends,omitempty"`
}

// String prints the policy compactly: "timeout=1s retry-http=5xx limit=1 backends=web-v1:80=9".
func (p Policy) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("timeout", p.Timeout)
	add("retry-http", p.RetryHTTP)
	add("retry-grpc", p.RetryGRPC)
	add("limit", p.RetryLimit)
	add("backends", p.Backends)
	if len(parts) == 0 {
		return "no timeout, no retries, the Service itself"
	}
	return strings.Join(parts, " ")
}

// annotations are the route annotations that carry the policy (backends go on the rules).
func (p Policy) annotations() map[string]string {
	a := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set(AnnotationTimeoutRequest, p.Timeout)
	set(AnnotationRetryHTTP, p.RetryHTTP)
	set(AnnotationRetryGRPC, p.RetryGRPC)
	set(AnnotationRetryLimit, p.RetryLimit)
	return a
}

// slug names the route object that carries the policy.
func (p Policy) slug() string {
	var parts []string
	if p.RetryHTTP != "" || p.RetryGRPC != "" {
		parts = append(parts, "retry")
	}
	if p.Timeout != "" {
		parts = append(parts, "timeout-"+strings.NewReplacer(".", "p", "µ", "u").Replace(strings.ToLower(p.Timeout)))
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, "-")
}

// Backend is one weighted destination of the split.
type Backend struct {
	Service   string `json:"service"`
	Namespace string `json:"namespace,omitempty"`
	Port      int32  `json:"port"`
	Weight    int64  `json:"weight"`
}

func backendsKey(bs []Backend) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		name := b.Service
		if b.Namespace != "" {
			name = b.Namespace + "/" + name
		}
		parts[i] = fmt.Sprintf("%s:%d=%d", name, b.Port, b.Weight)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// failureStatuses evaluates a route's response classes on every status code, as the proxy
// does (first matching class decides; 5xx is a failure when none matches), and spells the
// failures as retry.linkerd.io/http ranges.
func failureStatuses(classes []profiles.ResponseClass) string {
	var codes []int
	for code := 100; code <= 599; code++ {
		failure := code >= 500
		for _, c := range classes {
			if c.Condition != nil && responseMatches(c.Condition, uint32(code), 0) {
				failure = c.IsFailure
				break
			}
		}
		if failure {
			codes = append(codes, code)
		}
	}
	return statusRanges(codes)
}

func responseMatches(m *profiles.ResponseMatch, code uint32, depth int) bool {
	if depth > 32 {
		return false
	}
	if m.Status != nil {
		lo, hi := m.Status.Min, m.Status.Max
		if lo == 0 {
			lo = 100
		}
		if hi == 0 {
			hi = 599
		}
		if code < lo || code > hi {
			return false
		}
	}
	for i := range m.All {
		if !responseMatches(&m.All[i], code, depth+1) {
			return false
		}
	}
	if len(m.Any) > 0 && !slices.ContainsFunc(m.Any, func(x profiles.ResponseMatch) bool { return responseMatches(&x, code, depth+1) }) {
		return false
	}
	if m.Not != nil && responseMatches(m.Not, code, depth+1) {
		return false
	}
	return true
}

// statusRanges spells sorted codes as Linkerd's retry.linkerd.io/http value: "5xx" for exactly
// 500-599, else comma-separated ranges ("500-504,429").
func statusRanges(codes []int) string {
	if len(codes) == 100 && codes[0] == 500 && codes[99] == 599 {
		return "5xx"
	}
	var parts []string
	for i := 0; i < len(codes); {
		j := i
		for j+1 < len(codes) && codes[j+1] == codes[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, strconv.Itoa(codes[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", codes[i], codes[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// retryLimit turns a retry budget into Linkerd's per-request retry limit and says why.
func retryLimit(b *profiles.RetryBudget) (string, string) {
	if b == nil {
		return "1", "no retryBudget: Linkerd's default budget (ratio 0.2, 10/s, ttl 10s) becomes retry.linkerd.io/limit: 1 " +
			"(a ratio under 1 allows less than one retry per request on average)"
	}
	limit := max(1, int(math.Ceil(float64(b.RetryRatio))))
	return strconv.Itoa(limit), fmt.Sprintf("retryBudget (ratio %g, %d/s minimum, ttl %s) becomes retry.linkerd.io/limit: %d: "+
		"a budget caps retries as a share of all requests, a limit caps them per request; ratio %g allows at most %g "+
		"retries per request on average, so at most %d each; minRetriesPerSecond and ttl have no equivalent",
		b.RetryRatio, b.MinRetriesPerSecond, b.TTL, limit, b.RetryRatio, b.RetryRatio, limit)
}
