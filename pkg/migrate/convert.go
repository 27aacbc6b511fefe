package migrate

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/smi"
)

// Emit chooses the API group of the HTTPRoutes a migration writes.
type Emit string

const (
	// EmitGateway writes gateway.networking.k8s.io/v1 HTTPRoutes (the default).
	EmitGateway Emit = "gateway"
	// EmitLinkerd writes policy.linkerd.io/v1beta3 HTTPRoutes.
	EmitLinkerd Emit = "linkerd"
)

// ParseEmit accepts "gateway" or "linkerd".
func ParseEmit(s string) (Emit, error) {
	switch Emit(s) {
	case EmitGateway, EmitLinkerd:
		return Emit(s), nil
	}
	return "", fmt.Errorf("invalid --emit %q: use gateway (gateway.networking.k8s.io) or linkerd (policy.linkerd.io)", s)
}

// API versions of the routes a migration writes.
const (
	GatewayAPIVersion = "gateway.networking.k8s.io/v1"
	LinkerdAPIVersion = "policy.linkerd.io/v1beta3"
)

// Gateway API limits on one route (v1.1/v1.2 CRDs).
const maxRulesPerRoute = 16

// Options control a migration.
type Options struct {
	Emit Emit
	// Port is the backend port for split backends that name none (TrafficSplit backends never
	// do; dstOverrides may). 0 means such a split is an error.
	Port int32
	// PortOf finds the port of an apex Service when Port is 0 (the CLI reads the cluster).
	PortOf func(ns, svc string) (int32, error)
}

// Source is an object a migration replaces: deleted once the new routes are accepted.
type Source struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
}

func (s Source) String() string { return fmt.Sprintf("%s %s/%s", s.Kind, s.Namespace, s.Name) }

// Migration is one Service's move from its ServiceProfile and TrafficSplit to routes.
type Migration struct {
	Namespace string   `json:"namespace"`
	Service   string   `json:"service"`
	Sources   []Source `json:"sources"`
	// Routes are the new objects, ready for server-side apply.
	Routes []*unstructured.Unstructured `json:"routes"`
	// Notes say what changed meaning or had no equivalent, one line each.
	Notes []string `json:"notes,omitempty"`
	Proof *Proof   `json:"proof"`

	old oldModel
}

// oldRoute is a ServiceProfile route as the proxy evaluates it.
type oldRoute struct {
	Name   string
	Alts   []match
	Cond   *profiles.RequestMatch
	Policy Policy
	// Unmodelled says why the route has no HTTPRoute equivalent ("" when it has one).
	Unmodelled string
}

// oldModel is what the old objects do: routes in first-match order, and the policy of a
// request no route matches.
type oldModel struct {
	Routes  []oldRoute
	Default Policy
	GRPC    bool
}

// Plan migrates every Service the input names: the ServiceProfile and TrafficSplit of each
// Service become one migration, with its proof.
func Plan(in *Input, opts Options) ([]*Migration, error) {
	type key struct{ ns, svc string }
	byKey := map[key]*Migration{}
	profilesOf := map[key]*profiles.ServiceProfile{}
	splitsOf := map[key]*smi.TrafficSplit{}
	var order []key
	get := func(k key) {
		if _, ok := byKey[k]; !ok {
			byKey[k] = &Migration{Namespace: k.ns, Service: k.svc}
			order = append(order, k)
		}
	}
	for _, sp := range in.Profiles {
		ns, svc := profileService(sp)
		k := key{ns, svc}
		if profilesOf[k] != nil {
			return nil, fmt.Errorf("%w: two ServiceProfiles for Service %s/%s", ErrInput, ns, svc)
		}
		get(k)
		profilesOf[k] = sp
	}
	for _, ts := range in.Splits {
		k := key{ts.Namespace, ts.Service}
		if splitsOf[k] != nil {
			return nil, fmt.Errorf("%w: two TrafficSplits for Service %s/%s (%s, %s): merge them first", ErrInput, ts.Namespace, ts.Service, splitsOf[k].Name, ts.Name)
		}
		get(k)
		splitsOf[k] = ts
	}
	var out []*Migration
	for _, k := range order {
		m := byKey[k]
		if err := m.build(profilesOf[k], splitsOf[k], opts); err != nil {
			return nil, fmt.Errorf("service %s/%s: %w", k.ns, k.svc, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// profileService reads the Service a ServiceProfile is named after: <svc>.<ns>.svc.<domain>.
func profileService(sp *profiles.ServiceProfile) (ns, svc string) {
	parts := strings.Split(sp.Metadata.Name, ".")
	svc, ns = parts[0], sp.Metadata.Namespace
	if len(parts) > 2 && parts[2] == "svc" && ns == "" {
		ns = parts[1]
	}
	if ns == "" {
		ns = "default"
	}
	return ns, svc
}

func (m *Migration) build(sp *profiles.ServiceProfile, ts *smi.TrafficSplit, opts Options) error {
	backends, err := m.backends(sp, ts, opts)
	if err != nil {
		return err
	}
	bkey := backendsKey(backends)
	m.old.Default = Policy{Backends: bkey}
	if sp != nil {
		m.Sources = append(m.Sources, Source{APIVersion: profiles.ServiceProfileAPIVersion, Kind: profiles.ServiceProfileKind, Namespace: m.Namespace, Name: sp.Metadata.Name})
		m.readRoutes(sp, bkey)
	}
	if ts != nil {
		m.Sources = append(m.Sources, Source{APIVersion: "split.smi-spec.io/" + string(ts.Version), Kind: "TrafficSplit", Namespace: ts.Namespace, Name: ts.Name})
	}
	m.Routes = m.emit(backends, opts.Emit)
	m.Proof = m.ProveAgainst(m.Routes)
	return nil
}

// backends are the split's destinations: the TrafficSplit's when there is one (linkerd-smi
// writes it over the profile's dstOverrides), else the profile's dstOverrides.
func (m *Migration) backends(sp *profiles.ServiceProfile, ts *smi.TrafficSplit, opts Options) ([]Backend, error) {
	var out []Backend
	switch {
	case ts != nil:
		port := opts.Port
		if port == 0 && opts.PortOf != nil {
			p, err := opts.PortOf(m.Namespace, m.Service)
			if err != nil {
				return nil, fmt.Errorf("TrafficSplit backends name no port: %w (or pass --port)", err)
			}
			port = p
		}
		if port == 0 {
			return nil, errors.New("TrafficSplit backends name no port: pass --port (the apex Service's port)")
		}
		for _, b := range ts.Backends {
			out = append(out, Backend{Service: b.Service, Port: port, Weight: b.Weight})
		}
		if sp != nil && len(sp.Spec.DstOverrides) > 0 {
			m.note("ServiceProfile dstOverrides are replaced by TrafficSplit %s (linkerd-smi writes the split over them)", ts.Name)
		}
		m.note("TrafficSplit %s: weights %s move to backendRefs on every rule", ts.Name, weightsText(out))
	case sp != nil && len(sp.Spec.DstOverrides) > 0:
		qs := make([]*resource.Quantity, len(sp.Spec.DstOverrides))
		for i := range sp.Spec.DstOverrides {
			qs[i] = &sp.Spec.DstOverrides[i].Weight
		}
		ws, err := smi.IntWeights(qs)
		if err != nil {
			return nil, fmt.Errorf("dstOverrides: %w", err)
		}
		for i, d := range sp.Spec.DstOverrides {
			b, err := authorityBackend(d.Authority, m.Namespace, opts.Port)
			if err != nil {
				return nil, err
			}
			b.Weight = ws[i]
			out = append(out, b)
		}
		m.note("dstOverrides: weights %s move to backendRefs on every rule", weightsText(out))
	}
	return out, nil
}

func weightsText(bs []Backend) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%s=%d", b.Service, b.Weight)
	}
	return strings.Join(parts, " ")
}

var authorityRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.([a-z0-9-]+))?(\.svc(\.[a-z0-9.-]+)?)?(:([0-9]+))?$`)

// authorityBackend reads a dstOverride authority: name[.namespace[.svc[.domain]]][:port].
func authorityBackend(authority, ns string, port int32) (Backend, error) {
	sub := authorityRE.FindStringSubmatch(authority)
	if sub == nil {
		return Backend{}, fmt.Errorf("dstOverride authority %q is not a Service name: name.namespace.svc.cluster.local:port", authority)
	}
	b := Backend{Service: sub[1], Port: port}
	if sub[4] != "" && sub[4] != ns {
		b.Namespace = sub[4]
	}
	if sub[8] != "" {
		p, err := strconv.ParseInt(sub[8], 10, 32)
		if err != nil {
			return Backend{}, fmt.Errorf("dstOverride authority %q: bad port: %w", authority, err)
		}
		b.Port = int32(p)
	}
	if b.Port == 0 {
		return Backend{}, fmt.Errorf("dstOverride authority %q names no port: pass --port", authority)
	}
	return b, nil
}

func (m *Migration) note(format string, args ...any) {
	m.Notes = append(m.Notes, fmt.Sprintf(format, args...))
}

// readRoutes builds the old model: each route's alternatives and policy.
func (m *Migration) readRoutes(sp *profiles.ServiceProfile, backends string) {
	grpc := len(sp.Spec.Routes) > 0
	var limit, why string
	for _, r := range sp.Spec.Routes {
		or := oldRoute{Name: r.Name, Cond: r.Condition}
		alts, err := alternatives(r.Condition, 0)
		if err != nil {
			or.Unmodelled = err.Error()
			m.note("route %q: %v: left out; the proof checks the routes around it by sampling", r.Name, err)
		}
		or.Alts = alts
		for _, a := range alts {
			_, _, ok := grpcMethod(a)
			grpc = grpc && ok
		}
		grpc = grpc && err == nil
		if r.IsRetryable && limit == "" {
			limit, why = retryLimit(sp.Spec.RetryBudget)
			m.note("%s", why)
		}
		or.Policy = Policy{Timeout: r.Timeout, Backends: backends}
		m.old.Routes = append(m.old.Routes, or)
	}
	m.old.GRPC = grpc
	for i, r := range sp.Spec.Routes {
		m.old.Routes[i].Policy = m.routePolicy(r, m.old.Routes[i].Policy, grpc, limit)
	}
}

// routePolicy adds a route's retries to its policy: response classes become the closest
// retry.linkerd.io/http statuses, or gRPC's retryable statuses.
func (m *Migration) routePolicy(r profiles.RouteSpec, p Policy, grpc bool, limit string) Policy {
	switch {
	case r.IsRetryable && grpc:
		p.RetryGRPC, p.RetryLimit = profiles.RetryGRPCConditions, limit
		if len(r.ResponseClasses) > 0 {
			m.note("route %q: gRPC retries go by grpc-status (%s); its HTTP response classes have no equivalent and are dropped", r.Name, profiles.RetryGRPCConditions)
		}
	case r.IsRetryable:
		p.RetryHTTP, p.RetryLimit = failureStatuses(r.ResponseClasses), limit
		if p.RetryHTTP == "" {
			m.note("route %q: retryable, but its response classes mark no status a failure: no retries", r.Name)
			p.RetryLimit = ""
		} else if len(r.ResponseClasses) > 0 {
			m.note("route %q: response classes become retry.linkerd.io/http: %s", r.Name, p.RetryHTTP)
		}
	case len(r.ResponseClasses) > 0:
		m.note("route %q: response classes only classified metrics (the route is not retryable); Linkerd's route metrics have no per-route classes: dropped", r.Name)
	}
	return p
}

// sortedPolicies orders policies for stable output: the default first, then by name.
func sortedPolicies(ps map[Policy][]rule, def Policy) []Policy {
	out := make([]Policy, 0, len(ps))
	for p := range ps {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == def) != (out[j] == def) {
			return out[i] == def
		}
		return out[i].slug()+out[i].String() < out[j].slug()+out[j].String()
	})
	return out
}
