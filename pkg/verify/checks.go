package verify

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Check names, as printed at the start of each finding.
const (
	CheckUnmeshed        = "unmeshed"
	CheckUncoveredPort   = "uncovered-port"
	CheckUnauthorized    = "unauthorized-server"
	CheckNoCatchAll      = "no-catch-all"
	CheckProfileOverride = "profile-overrides-route"
	CheckPlaintextEdge   = "plaintext-edge"
)

// Finding is one problem, printed on one line.
type Finding struct {
	Check   string `json:"check"`
	Object  string `json:"object"`
	Message string `json:"message"`
}

func (f Finding) String() string { return f.Check + ": " + f.Object + ": " + f.Message }

// ProxyContainer is the name of the container Linkerd's injector adds.
const ProxyContainer = "linkerd-proxy"

// proxyVersionAnnotation is set by the injector on every pod it meshed.
const proxyVersionAnnotation = "linkerd.io/proxy-version"

// Meshed reports every workload that runs without a Linkerd proxy: neither a linkerd-proxy
// container (a native sidecar is an init container) nor the injector's annotation.
func Meshed(inv *Inventory) []Finding {
	var out []Finding
	for _, w := range inv.Workloads {
		if hasProxy(w) {
			continue
		}
		out = append(out, Finding{Check: CheckUnmeshed, Object: w.String(),
			Message: "has no linkerd-proxy: annotate the namespace or workload with linkerd.io/inject=enabled and restart it"})
	}
	return out
}

func hasProxy(w Workload) bool {
	if _, ok := w.Annotations[proxyVersionAnnotation]; ok {
		return true
	}
	for _, cs := range [][]corev1.Container{w.Spec.Containers, w.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == ProxyContainer {
				return true
			}
		}
	}
	return false
}

// server is the part of a policy.linkerd.io Server the coverage check needs.
type server struct {
	name     string
	labels   map[string]string
	selector labels.Selector
	port     intstr.IntOrString
}

func (inv *Inventory) servers() ([]server, error) {
	var out []server
	for _, o := range inv.policyObjects(GroupPolicy, "Server") {
		s := server{name: o.GetName(), labels: o.GetLabels()}
		sel, found, err := unstructured.NestedMap(o.Object, "spec", "podSelector")
		if err != nil {
			return nil, fmt.Errorf("read Server %s podSelector: %w", s.name, err)
		}
		if !found {
			// An externalWorkloadSelector Server never selects pods.
			continue
		}
		var ls metav1.LabelSelector
		if err := fromMap(sel, &ls); err != nil {
			return nil, fmt.Errorf("read Server %s podSelector: %w", s.name, err)
		}
		if s.selector, err = metav1.LabelSelectorAsSelector(&ls); err != nil {
			return nil, fmt.Errorf("read Server %s podSelector: %w", s.name, err)
		}
		port, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "port")
		switch p := port.(type) {
		case string:
			s.port = intstr.FromString(p)
		case int64:
			s.port = intstr.FromInt32(int32(p))
		case float64:
			s.port = intstr.FromInt32(int32(p))
		default:
			return nil, fmt.Errorf("read Server %s: spec.port %v is neither a name nor a number", s.name, p)
		}
		out = append(out, s)
	}
	return out, nil
}

// authorizedServers returns the names of Servers some authorization applies to: an
// AuthorizationPolicy targeting the Server, its namespace, or a policy.linkerd.io HTTPRoute
// attached to it, or a (legacy) ServerAuthorization naming or selecting it.
func (inv *Inventory) authorizedServers(servers []server) map[string]bool {
	out := map[string]bool{}
	routeParent := map[string][]string{}
	for _, r := range inv.policyObjects(GroupPolicy, "HTTPRoute") {
		for _, p := range parentRefs(r) {
			if p.kind == "Server" {
				routeParent[r.GetName()] = append(routeParent[r.GetName()], p.name)
			}
		}
	}
	for _, ap := range inv.policyObjects(GroupPolicy, "AuthorizationPolicy") {
		kind, _, _ := unstructured.NestedString(ap.Object, "spec", "targetRef", "kind")
		name, _, _ := unstructured.NestedString(ap.Object, "spec", "targetRef", "name")
		switch kind {
		case "Server":
			out[name] = true
		case "Namespace":
			for _, s := range servers {
				out[s.name] = true
			}
		case "HTTPRoute", "GRPCRoute":
			for _, s := range routeParent[name] {
				out[s] = true
			}
		}
	}
	for _, sa := range inv.policyObjects(GroupPolicy, "ServerAuthorization") {
		if name, ok, _ := unstructured.NestedString(sa.Object, "spec", "server", "name"); ok {
			out[name] = true
			continue
		}
		sel, ok, _ := unstructured.NestedMap(sa.Object, "spec", "server", "selector")
		var ls metav1.LabelSelector
		if !ok || fromMap(sel, &ls) != nil {
			continue
		}
		if s, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
			for _, srv := range servers {
				if s.Matches(labels.Set(srv.labels)) {
					out[srv.name] = true
				}
			}
		}
	}
	return out
}

// PortCoverage reports every Service port whose pods' target port has no Server, or whose
// Servers have no authorization policy. Under Linkerd's default-deny inbound policy such a port
// refuses all traffic; under a permissive default it accepts anyone.
func PortCoverage(inv *Inventory) ([]Finding, error) {
	servers, err := inv.servers()
	if err != nil {
		return nil, err
	}
	authorized := inv.authorizedServers(servers)
	var out []Finding
	for _, svc := range inv.Services {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, sp := range svc.Spec.Ports {
			obj := fmt.Sprintf("Service/%s port %s", svc.Name, portName(sp))
			seen := map[string]bool{}
			for _, w := range inv.Workloads {
				if !sel.Matches(labels.Set(w.Labels)) {
					continue
				}
				target := sp.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(sp.Port)
				}
				num, ok := containerPort(w.Spec, target)
				if !ok {
					continue
				}
				var covering []string
				for _, s := range servers {
					if !s.selector.Matches(labels.Set(w.Labels)) {
						continue
					}
					if n, ok := containerPort(w.Spec, s.port); ok && n == num {
						covering = append(covering, s.name)
					}
				}
				var f Finding
				switch {
				case len(covering) == 0:
					f = Finding{Check: CheckUncoveredPort, Object: obj,
						Message: fmt.Sprintf("no Server selects %s port %d: add a Server for it and an AuthorizationPolicy naming who may call it", w, num)}
				case !anyAuthorized(covering, authorized):
					f = Finding{Check: CheckUnauthorized, Object: obj,
						Message: fmt.Sprintf("Server %s covers %s port %d but no AuthorizationPolicy targets it: add one naming who may call it", strings.Join(covering, ","), w, num)}
				default:
					continue
				}
				if !seen[f.Message] {
					seen[f.Message] = true
					out = append(out, f)
				}
			}
		}
	}
	return out, nil
}

func anyAuthorized(names []string, authorized map[string]bool) bool {
	for _, n := range names {
		if authorized[n] {
			return true
		}
	}
	return false
}

func portName(sp corev1.ServicePort) string {
	if sp.Name != "" {
		return fmt.Sprintf("%d/%s", sp.Port, sp.Name)
	}
	return strconv.Itoa(int(sp.Port))
}

// containerPort resolves a Service targetPort on a pod: a number stands for itself (a
// container need not declare it), a name must be declared.
func containerPort(spec corev1.PodSpec, p intstr.IntOrString) (int32, bool) {
	if p.Type == intstr.Int {
		return p.IntVal, true
	}
	for _, cs := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for _, c := range cs {
			for _, cp := range c.Ports {
				if cp.Name == p.StrVal {
					return cp.ContainerPort, true
				}
			}
		}
	}
	return 0, false
}

type parentRef struct{ group, kind, name string }

func parentRefs(o *unstructured.Unstructured) []parentRef {
	refs, _, _ := unstructured.NestedSlice(o.Object, "spec", "parentRefs")
	var out []parentRef
	for _, r := range refs {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		group, _ := m["group"].(string)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		out = append(out, parentRef{group: group, kind: kind, name: name})
	}
	return out
}

// serviceParent says whether a route parentRef names a Service (Linkerd's GAMMA attachment:
// group "core" or "", kind Service).
func (p parentRef) serviceParent() bool {
	return p.kind == "Service" && (p.group == "" || p.group == "core")
}

// routes returns the HTTPRoutes (both groups) and GRPCRoutes of the inventory.
func (inv *Inventory) routes() []*unstructured.Unstructured {
	out := inv.policyObjects(GroupGateway, "HTTPRoute")
	out = append(out, inv.policyObjects(GroupPolicy, "HTTPRoute")...)
	return append(out, inv.policyObjects(GroupGateway, "GRPCRoute")...)
}

// CatchAll reports every route attached to a Service that has no rule matching every request.
// Once a route attaches to a Service Linkerd drops the Service's default route, so a request
// that matches no rule gets a 404.
func CatchAll(inv *Inventory) []Finding {
	var out []Finding
	for _, r := range inv.routes() {
		attached := false
		for _, p := range parentRefs(r) {
			attached = attached || p.serviceParent()
		}
		if !attached || hasCatchAll(r) {
			continue
		}
		out = append(out, Finding{Check: CheckNoCatchAll, Object: r.GetKind() + "/" + r.GetName(),
			Message: "no rule matches every request, so Linkerd answers 404 to the rest: add a last rule matching PathPrefix \"/\" (or with no matches)"})
	}
	return out
}

func hasCatchAll(r *unstructured.Unstructured) bool {
	rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
	for _, rule := range rules {
		m, _ := rule.(map[string]any)
		matches, _ := m["matches"].([]any)
		if len(matches) == 0 {
			return true
		}
		for _, match := range matches {
			if matchesAll(r.GetKind(), match) {
				return true
			}
		}
	}
	return false
}

func matchesAll(kind string, match any) bool {
	m, _ := match.(map[string]any)
	if kind == "GRPCRoute" {
		// A GRPCRoute match narrows by method or headers; an empty method matches every one.
		for k, v := range m {
			if k != "method" || !isEmptyMap(v) {
				return false
			}
		}
		return true
	}
	for k := range m {
		if k != "path" {
			// headers, queryParams and method narrow the match.
			return false
		}
	}
	path, ok := m["path"].(map[string]any)
	if !ok {
		// Gateway API defaults a missing path to PathPrefix "/".
		return true
	}
	typ, _ := path["type"].(string)
	val, _ := path["value"].(string)
	if typ == "" {
		typ = "PathPrefix"
	}
	if val == "" {
		val = "/"
	}
	return typ == "PathPrefix" && val == "/"
}

func isEmptyMap(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// ProfileOverrides reports every Service that has both a route attached and a ServiceProfile
// with routes or dstOverrides: the ServiceProfile wins, and the route's retries, timeouts and
// weights are silently ignored.
func ProfileOverrides(inv *Inventory) []Finding {
	routed := map[string][]string{}
	for _, r := range inv.routes() {
		for _, p := range parentRefs(r) {
			if p.serviceParent() {
				routed[p.name] = append(routed[p.name], r.GetKind()+"/"+r.GetName())
			}
		}
	}
	var out []Finding
	for _, sp := range inv.policyObjects(GroupLinkerd, "ServiceProfile") {
		svc, ns, ok := profileService(sp.GetName())
		if !ok || ns != inv.Namespace || len(routed[svc]) == 0 {
			continue
		}
		routes, _, _ := unstructured.NestedSlice(sp.Object, "spec", "routes")
		overrides, _, _ := unstructured.NestedSlice(sp.Object, "spec", "dstOverrides")
		if len(routes) == 0 && len(overrides) == 0 {
			continue
		}
		names := routed[svc]
		sort.Strings(names)
		out = append(out, Finding{Check: CheckProfileOverride, Object: "ServiceProfile/" + sp.GetName(),
			Message: fmt.Sprintf("its routes/dstOverrides override %s on Service %s, whose policy Linkerd then ignores: move the policy to one of them and delete the other", strings.Join(names, ","), svc)})
	}
	return out
}

// profileService splits a ServiceProfile name "<svc>.<ns>.svc.<cluster-domain>".
func profileService(name string) (svc, ns string, ok bool) {
	parts := strings.SplitN(name, ".", 4)
	if len(parts) < 4 || parts[2] != "svc" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

func fromMap(m map[string]any, into any) error {
	return fromUnstructured(&unstructured.Unstructured{Object: m}, into)
}
