package profiles

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/trafficctl/trafficctl/pkg/internal/regex"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Linkerd's annotations for per-route policy on Gateway API routes.
const (
	AnnotationRetryHTTP      = "retry.linkerd.io/http"
	AnnotationRetryGRPC      = "retry.linkerd.io/grpc"
	AnnotationTimeoutRequest = "timeout.linkerd.io/request"
	// RetryHTTPConditions are the HTTP responses a retryable route retries.
	RetryHTTPConditions = "5xx"
	// RetryGRPCConditions are the gRPC statuses a retryable method retries.
	RetryGRPCConditions = "cancelled,deadline-exceeded,internal,resource-exhausted,unavailable"
)

// Gateway API limits (v1.1/v1.2 CRDs): matches per rule and rules per route.
const (
	maxMatchesPerRule = 8
	// MaxRulesPerRoute is the most rules an HTTPRoute or GRPCRoute may have.
	MaxRulesPerRoute = 16
)

// gatewayMethods are the methods an HTTPRoute match accepts.
var gatewayMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "CONNECT": true, "OPTIONS": true, "TRACE": true, "PATCH": true}

// RouteObjects are the Gateway API routes for a plan.
type RouteObjects struct {
	// HTTP are the HTTPRoutes, the catch-all rule in the first.
	HTTP []*gatewayv1.HTTPRoute
	// GRPC are the GRPCRoutes (protobuf input).
	GRPC []*gatewayv1.GRPCRoute
	// MatchNames[i][r][m] names the plan route behind match m of rule r of HTTP[i] ("" for
	// the catch-all), so precedence can be checked against the contract.
	MatchNames [][][]string
	// Ties are pairs of routes whose regexes could not be made disjoint: Linkerd then decides
	// between them by creation time and name.
	Ties []Overlap
	// Skipped lists operations an HTTPRoute cannot express.
	Skipped []string
}

// routePolicy is what one route object carries in its annotations.
type routePolicy struct {
	retryable bool
	timeout   string
}

func (p routePolicy) slug() string {
	var parts []string
	if p.retryable {
		parts = append(parts, "retry")
	}
	if p.timeout != "" {
		t := strings.NewReplacer(".", "p", "µ", "u").Replace(strings.ToLower(p.timeout))
		parts = append(parts, "timeout-"+t)
	}
	return strings.Join(parts, "-")
}

func (p routePolicy) annotations(grpc bool) map[string]string {
	a := map[string]string{}
	if p.retryable {
		if grpc {
			a[AnnotationRetryGRPC] = RetryGRPCConditions
		} else {
			a[AnnotationRetryHTTP] = RetryHTTPConditions
		}
	}
	if p.timeout != "" {
		a[AnnotationTimeoutRequest] = p.timeout
	}
	if len(a) == 0 {
		return nil
	}
	return a
}

// RouteObjects renders the plan as Gateway API routes attached to the Service: one route
// object per distinct policy (split when Gateway API's size limits require), a catch-all "/"
// rule (once a route is attached, Linkerd answers 404 to what no rule matches) and regexes made
// disjoint, since Linkerd's precedence ties two full-path regexes of the same method.
func (p *Plan) RouteObjects() *RouteObjects {
	out := &RouteObjects{}
	regexes := p.disjointRegexes(out)
	catchAll := routePolicy{timeout: p.Options.Timeout}
	var order []routePolicy
	byPolicy := map[routePolicy][]int{catchAll: nil}
	order = append(order, catchAll)
	var grpcOrder []routePolicy
	grpcBy := map[routePolicy][]int{}
	grpcOnly := len(p.Routes) > 0
	for _, r := range p.Routes {
		grpcOnly = grpcOnly && r.GRPC
	}
	if grpcOnly {
		// The catch-all is a GRPCRoute rule without matches, and no HTTPRoute is needed.
		grpcOrder, grpcBy, order = []routePolicy{catchAll}, map[routePolicy][]int{catchAll: nil}, nil
	}
	for i, r := range p.Routes {
		pol := routePolicy{retryable: r.IsRetryable, timeout: r.RouteTimeout}
		if r.GRPC {
			if _, ok := grpcBy[pol]; !ok {
				grpcOrder = append(grpcOrder, pol)
			}
			grpcBy[pol] = append(grpcBy[pol], i)
			continue
		}
		if !gatewayMethods[r.Method] {
			out.Skipped = append(out.Skipped, fmt.Sprintf("%s: HTTPRoute matches cannot name the method %s", r.Name, r.Method))
			continue
		}
		if _, ok := byPolicy[pol]; !ok {
			order = append(order, pol)
		}
		byPolicy[pol] = append(byPolicy[pol], i)
	}
	for n, pol := range order {
		idx := byPolicy[pol]
		idx = slices.DeleteFunc(idx, func(i int) bool {
			if len(regexes[i]) <= maxRegexLength {
				return false
			}
			out.Skipped = append(out.Skipped, fmt.Sprintf("%s: its path regex has %d characters, over Gateway API's limit of %d; the catch-all serves it", p.Routes[i].Name, len(regexes[i]), maxRegexLength))
			return true
		})
		var matches []gatewayv1.HTTPRouteMatch
		var names []string
		if n == 0 {
			matches = append(matches, gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{Type: ptr(gatewayv1.PathMatchPathPrefix), Value: ptr("/")}})
			names = append(names, "")
		}
		for _, i := range idx {
			r := &p.Routes[i]
			matches = append(matches, gatewayv1.HTTPRouteMatch{
				Path:   &gatewayv1.HTTPPathMatch{Type: ptr(gatewayv1.PathMatchRegularExpression), Value: ptr(regexes[i])},
				Method: ptr(gatewayv1.HTTPMethod(r.Method)),
			})
			names = append(names, r.Name)
		}
		for chunk := 0; len(matches) > 0; chunk++ {
			take := min(len(matches), maxMatchesPerRule*MaxRulesPerRoute)
			route := p.httpRoute(pol, chunk)
			var ruleNames [][]string
			for k := 0; k < take; k += maxMatchesPerRule {
				end := min(k+maxMatchesPerRule, take)
				route.Spec.Rules = append(route.Spec.Rules, gatewayv1.HTTPRouteRule{Matches: matches[k:end]})
				ruleNames = append(ruleNames, names[k:end])
			}
			matches, names = matches[take:], names[take:]
			out.HTTP = append(out.HTTP, route)
			out.MatchNames = append(out.MatchNames, ruleNames)
		}
	}
	for n, pol := range grpcOrder {
		out.GRPC = append(out.GRPC, p.grpcRoutes(pol, grpcBy[pol], grpcOnly && n == 0)...)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func (p *Plan) objectMeta(kind string, pol routePolicy, chunk int, grpc bool) metav1.ObjectMeta {
	name := p.Options.Service
	if kind == "GRPCRoute" {
		name += "-grpc"
	}
	if s := pol.slug(); s != "" {
		name += "-" + s
	}
	if chunk > 0 {
		name += fmt.Sprintf("-%d", chunk+1)
	}
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   p.Options.Namespace,
		Annotations: pol.annotations(grpc),
		// Generated route objects carry this label; route objects without it were written by hand
		// and survive a merge (pkg/profiles/merge) untouched.
		Labels: map[string]string{kube.LabelManagedBy: kube.ManagedBy},
	}
}

func (p *Plan) parentRefs() []gatewayv1.ParentReference {
	return []gatewayv1.ParentReference{{
		Group: ptr(gatewayv1.Group("core")),
		Kind:  ptr(gatewayv1.Kind("Service")),
		Name:  gatewayv1.ObjectName(p.Options.Service),
	}}
}

func (p *Plan) httpRoute(pol routePolicy, chunk int) *gatewayv1.HTTPRoute {
	r := &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "HTTPRoute"},
		ObjectMeta: p.objectMeta("HTTPRoute", pol, chunk, false),
	}
	r.Spec.ParentRefs = p.parentRefs()
	return r
}

// grpcRoutes puts the methods of one policy in GRPCRoutes with Exact matches (Linkerd rejects
// regular expressions there); with catchAll, the first starts with a rule that matches all.
func (p *Plan) grpcRoutes(pol routePolicy, idx []int, catchAll bool) []*gatewayv1.GRPCRoute {
	var rules []gatewayv1.GRPCRouteRule
	if catchAll {
		rules = append(rules, gatewayv1.GRPCRouteRule{})
	}
	for k := 0; k < len(idx); k += maxMatchesPerRule {
		var rule gatewayv1.GRPCRouteRule
		for _, i := range idx[k:min(k+maxMatchesPerRule, len(idx))] {
			svc, method := grpcServiceMethod(p.Routes[i].Path)
			rule.Matches = append(rule.Matches, gatewayv1.GRPCRouteMatch{Method: &gatewayv1.GRPCMethodMatch{
				Type: ptr(gatewayv1.GRPCMethodMatchExact), Service: ptr(svc), Method: ptr(method),
			}})
		}
		rules = append(rules, rule)
	}
	var out []*gatewayv1.GRPCRoute
	for chunk := 0; len(rules) > 0; chunk++ {
		take := min(len(rules), MaxRulesPerRoute)
		r := p.grpcRoute(pol, chunk)
		r.Spec.Rules = rules[:take]
		rules = rules[take:]
		out = append(out, r)
	}
	return out
}

func (p *Plan) grpcRoute(pol routePolicy, chunk int) *gatewayv1.GRPCRoute {
	r := &gatewayv1.GRPCRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "GRPCRoute"},
		ObjectMeta: p.objectMeta("GRPCRoute", pol, chunk, true),
	}
	r.Spec.ParentRefs = p.parentRefs()
	return r
}

// grpcServiceMethod splits "/pkg.Service/Method".
func grpcServiceMethod(path string) (string, string) {
	svc, method, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return svc, method
}

// maxRegexLength is the Gateway API CRDs' limit on a path match value.
const maxRegexLength = regex.MaxLength

// disjointRegexes gives every HTTP route an anchored regex that excludes the requests of the
// routes before it (same method), so that at most one regex rule matches any request.
func (p *Plan) disjointRegexes(out *RouteObjects) []string {
	regexes := make([]string, len(p.Routes))
	// One random source for all routes, in route order: the regexes come out the same each run.
	rng := rand.New(rand.NewPCG(3, 5))
	for j := range p.Routes {
		if !p.Routes[j].GRPC {
			regexes[j] = p.disjointRegex(j, rng, out)
		}
	}
	return regexes
}

// disjointRegex is route j's anchored regex, excluding the earlier routes of its method segment
// by segment where they differ from it in one segment, else over the whole path; the earlier
// routes it cannot exclude are reported in out.Ties.
func (p *Plan) disjointRegex(j int, rng *rand.Rand, out *RouteObjects) string {
	b := &p.Routes[j]
	excluded := make([][]Segment, len(b.Segments))
	exact := true
	var unresolved []string
	for _, a := range p.intersectingBefore(j, rng) {
		pos := differingSegment(a, b)
		if pos < 0 {
			exact = false
			unresolved = append(unresolved, a.Name)
			continue
		}
		excluded[pos] = append(excluded[pos], a.Segments[pos])
	}
	var sb strings.Builder
	sb.WriteByte('^')
	for k, seg := range b.Segments {
		sb.WriteByte('/')
		re, hard := segmentExcluding(seg, excluded[k])
		if len(hard) > 0 {
			exact = false
			for _, a := range p.Routes[:j] {
				if a.Method == b.Method && len(a.Segments) == len(b.Segments) && containsSeg(hard, a.Segments[k]) {
					unresolved = append(unresolved, a.Name)
				}
			}
		}
		sb.WriteString(re)
	}
	sb.WriteByte('$')
	re := sb.String()
	if plain := "^" + b.PathRegex() + "$"; len(re) > maxRegexLength && len(plain) <= maxRegexLength {
		// Excluding the earlier routes made the regex too long for the CRD: keep the route
		// and report the ties instead.
		re, exact = plain, false
		for _, a := range p.intersectingBefore(j, rng) {
			unresolved = append(unresolved, a.Name)
		}
	}
	if !exact {
		// Siblings that differ from this route in several segments (or whose exclusion was
		// too long segment by segment): the general construction over the whole path.
		var drop []string
		for _, a := range p.intersectingBefore(j, rng) {
			drop = append(drop, a.PathRegex())
		}
		if whole, fine := regex.PathMinus(b.PathRegex(), drop); fine && len(whole)+2 <= maxRegexLength {
			re, exact = "^"+whole+"$", true
		}
	}
	if !exact {
		for _, a := range dedupe(unresolved) {
			out.Ties = append(out.Ties, Overlap{First: a, Second: b.Name, Tie: true})
		}
	}
	return re
}

// intersectingBefore are the HTTP routes before route j with its method and number of segments
// whose requests (sampled with rng) intersect its own.
func (p *Plan) intersectingBefore(j int, rng *rand.Rand) []*Route {
	b := &p.Routes[j]
	var out []*Route
	for i := 0; i < j; i++ {
		a := &p.Routes[i]
		if !a.GRPC && a.Method == b.Method && len(a.Segments) == len(b.Segments) && routesIntersect(a, b, rng) {
			out = append(out, a)
		}
	}
	return out
}

// differingSegment is the one segment in which b is not within a, or -1 when there are none
// or several (no single segment to exclude a from).
func differingSegment(a, b *Route) int {
	pos := -1
	for k := range a.Segments {
		if !segSubset(b.Segments[k], a.Segments[k]) {
			if pos >= 0 {
				return -1
			}
			pos = k
		}
	}
	return pos
}

func containsSeg(list []Segment, s Segment) bool {
	for _, x := range list {
		if x.Regex() == s.Regex() {
			return true
		}
	}
	return false
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Manifest turns a typed object into the map that is printed and applied: server-set fields
// (creationTimestamp, status) are dropped so the output applies cleanly with strict validation.
func Manifest(obj any) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return m, nil
}
