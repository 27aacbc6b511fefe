package profiles

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trafficctl/trafficctl/pkg/internal/validate"
)

// RetryMode chooses which routes are marked retryable.
type RetryMode string

// Retry modes.
const (
	// RetriesSpec marks retryable what the contract marks (x-linkerd-retryable, idempotency_level).
	RetriesSpec RetryMode = "spec"
	// RetriesIdempotent also marks GET, HEAD, OPTIONS, PUT, DELETE and TRACE retryable unless the
	// contract says otherwise.
	RetriesIdempotent RetryMode = "idempotent"
	// RetriesNone marks nothing retryable.
	RetriesNone RetryMode = "none"
)

// RetryModes lists the accepted retry modes, for flags and messages.
var RetryModes = []RetryMode{RetriesSpec, RetriesIdempotent, RetriesNone}

// ParseRetryMode checks a --retries value.
func ParseRetryMode(s string) (RetryMode, error) {
	for _, m := range RetryModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("invalid retry mode %q: use one of spec, idempotent, none", s)
}

// idempotentMethods are the methods RFC 9110 defines as idempotent.
var idempotentMethods = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "PUT": true, "DELETE": true, "TRACE": true}

// Options control what is generated from an API.
type Options struct {
	// Service and Namespace name the Kubernetes Service the policy is for.
	Service, Namespace string
	// ClusterDomain is the cluster's DNS domain (DefaultClusterDomain when empty).
	ClusterDomain string
	// Retries chooses which routes are retryable (RetriesSpec when empty).
	Retries RetryMode
	// Timeout is the timeout of routes whose contract sets none; empty for none.
	Timeout string
	// RetryBudget is the ServiceProfile's retry budget; nil keeps Linkerd's default.
	RetryBudget *RetryBudget
}

// ProfileName is the ServiceProfile name Linkerd looks up for a Service.
func (o Options) ProfileName() string {
	domain := o.ClusterDomain
	if domain == "" {
		domain = DefaultClusterDomain
	}
	return fmt.Sprintf("%s.%s.svc.%s", o.Service, o.Namespace, domain)
}

// MaxRetryRatio bounds a retry budget's ratio: retries per original request.
const MaxRetryRatio = 100

// ParseRetryBudget parses "RATIO,MIN_PER_SECOND,TTL", e.g. "0.2,10,10s".
func ParseRetryBudget(s string) (*RetryBudget, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return nil, fmt.Errorf("invalid retry budget %q: use RATIO,MIN_PER_SECOND,TTL such as 0.2,10,10s", s)
	}
	ratio, err := strconv.ParseFloat(strings.TrimSpace(parts[0]), 32)
	if err == nil {
		err = validate.Between(ratio, 0, MaxRetryRatio)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid retry budget ratio %q: use a number within 0..%g such as 0.2", parts[0], float64(MaxRetryRatio))
	}
	minRPS, err := strconv.ParseUint(strings.TrimSpace(parts[1]), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("invalid retry budget minimum %q: use a whole number of retries per second such as 10", parts[1])
	}
	ttl := strings.TrimSpace(parts[2])
	if d, err := time.ParseDuration(ttl); err != nil || d <= 0 {
		return nil, fmt.Errorf("invalid retry budget ttl %q: use a positive duration such as 10s", parts[2])
	}
	return &RetryBudget{RetryRatio: float32(ratio), MinRetriesPerSecond: uint32(minRPS), TTL: ttl}, nil
}

// Route is an operation with its resolved name and policy.
type Route struct {
	Operation
	// Name is the unique route name.
	Name string
	// IsRetryable is the resolved retry policy.
	IsRetryable bool
	// RouteTimeout is the resolved timeout; empty for none.
	RouteTimeout string
}

// Plan is the ordered list of routes for an API, with the overlaps ordering cannot resolve.
type Plan struct {
	Options  Options
	Routes   []Route
	Overlaps []Overlap
}

// NewPlan resolves each operation's policy, orders routes by specificity (a ServiceProfile's
// first matching route wins) and finds the overlaps that ordering cannot resolve.
func NewPlan(api *API, opts Options) (*Plan, error) {
	if opts.Retries == "" {
		opts.Retries = RetriesSpec
	}
	if err := opts.Check(); err != nil {
		return nil, err
	}
	routes := make([]Route, len(api.Operations))
	for i, op := range api.Operations {
		r := Route{Operation: op, RouteTimeout: op.Timeout}
		if r.RouteTimeout == "" {
			r.RouteTimeout = opts.Timeout
		}
		switch opts.Retries {
		case RetriesSpec:
			r.IsRetryable = op.Retryable != nil && *op.Retryable
		case RetriesIdempotent:
			if op.Retryable != nil {
				r.IsRetryable = *op.Retryable
			} else {
				r.IsRetryable = !op.GRPC && idempotentMethods[op.Method]
			}
		case RetriesNone:
		default:
			return nil, fmt.Errorf("invalid retry mode %q: use one of spec, idempotent, none", opts.Retries)
		}
		routes[i] = r
	}
	sortRoutes(routes)
	nameRoutes(routes)
	return &Plan{Options: opts, Routes: routes, Overlaps: findOverlaps(routes)}, nil
}

// sortRoutes orders routes so that, segment by segment, literal text comes before typed and
// then untyped parameters; a request then meets the most specific route that matches it first.
func sortRoutes(routes []Route) {
	sort.SliceStable(routes, func(i, j int) bool { return lessRoute(&routes[i], &routes[j]) })
}

func lessRoute(a, b *Route) bool {
	if a.GRPC != b.GRPC {
		return !a.GRPC
	}
	n := min(len(a.Segments), len(b.Segments))
	for k := 0; k < n; k++ {
		sa, sb := a.Segments[k], b.Segments[k]
		la, lb := sa.IsLiteral(), sb.IsLiteral()
		if la && lb {
			if ta, tb := sa.literalText(), sb.literalText(); ta != tb {
				return ta < tb
			}
			continue
		}
		if ra, rb := sa.rank(), sb.rank(); ra != rb {
			return ra < rb
		}
		if na, nb := sa.literalLen(), sb.literalLen(); na != nb {
			return na > nb
		}
	}
	if len(a.Segments) != len(b.Segments) {
		return len(a.Segments) < len(b.Segments)
	}
	if a.Path != b.Path {
		return a.Path < b.Path
	}
	return methodIndex(a.Method) < methodIndex(b.Method)
}

func methodIndex(m string) int {
	for i, x := range methodOrder {
		if x == m {
			return i
		}
	}
	return len(methodOrder)
}

// nameRoutes gives every route its default name, made unique with a "#N" suffix.
func nameRoutes(routes []Route) {
	seen := map[string]int{}
	for i := range routes {
		name := routes[i].RouteName()
		seen[name]++
		if n := seen[name]; n > 1 {
			name = fmt.Sprintf("%s #%d", name, n)
		}
		routes[i].Name = name
	}
}

// ServiceProfile renders the plan as a ServiceProfile.
func (p *Plan) ServiceProfile() *ServiceProfile {
	sp := &ServiceProfile{
		TypeMeta: metav1.TypeMeta{APIVersion: ServiceProfileAPIVersion, Kind: ServiceProfileKind},
		Metadata: ObjectMeta{Name: p.Options.ProfileName(), Namespace: p.Options.Namespace},
		Spec:     ServiceProfileSpec{RetryBudget: p.Options.RetryBudget},
	}
	sp.Spec.Routes = make([]RouteSpec, len(p.Routes))
	for i, r := range p.Routes {
		sp.Spec.Routes[i] = r.spec()
	}
	return sp
}

func (r *Route) spec() RouteSpec {
	rs := RouteSpec{
		Name:        r.Name,
		Condition:   &RequestMatch{Method: r.Method, PathRegex: r.PathRegex()},
		IsRetryable: r.IsRetryable,
		Timeout:     r.RouteTimeout,
	}
	for _, c := range r.ResponseClasses {
		if c.IsFailure == c.DefaultIsFailure() {
			continue
		}
		rs.ResponseClasses = append(rs.ResponseClasses, ResponseClass{
			Condition: &ResponseMatch{Status: &Range{Min: c.Min, Max: c.Max}},
			IsFailure: c.IsFailure,
		})
	}
	return rs
}
