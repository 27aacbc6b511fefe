package migrate

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trafficctl/trafficctl/pkg/internal/regex"
)

// maxMatchesPerRule is Gateway API's limit on the matches of one rule.
const maxMatchesPerRule = 8

// rule is one route rule being built, as the object the API server takes.
type rule = map[string]any

// emit renders the old model as routes attached to the Service: one route object per policy
// (Linkerd reads retries and timeouts from route annotations), a catch-all rule (once a route is
// attached, Linkerd answers 404 to what no rule matches) and each route's regex minus the
// earlier routes' that would otherwise tie with it or win by method, so that HTTPRoute
// precedence picks what first-match picked.
func (m *Migration) emit(backends []Backend, emit Emit) []*unstructured.Unstructured {
	groups := map[Policy][]rule{}
	catchAll := rule{}
	if !m.old.GRPC {
		catchAll["matches"] = []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}}
	}
	groups[m.old.Default] = []rule{catchAll}
	for i, r := range m.old.Routes {
		var matches []any
		for _, a := range r.Alts {
			re, ok := m.region(i, a)
			if !ok {
				continue
			}
			matches = append(matches, m.matchObject(a, re))
		}
		if len(matches) == 0 && r.Unmodelled == "" {
			m.note("route %q: never reached (earlier routes match all its requests): dropped", r.Name)
		}
		for len(matches) > 0 {
			n := min(len(matches), maxMatchesPerRule)
			groups[r.Policy] = append(groups[r.Policy], rule{"matches": matches[:n]})
			matches = matches[n:]
		}
	}
	for _, rs := range groups {
		for _, r := range rs {
			if refs := backendRefs(backends); refs != nil {
				r["backendRefs"] = refs
			}
		}
	}
	return m.routeObjects(groups, emit)
}

func (m *Migration) matchObject(a match, re string) map[string]any {
	if m.old.GRPC {
		svc, method, _ := grpcMethod(a)
		return map[string]any{"method": map[string]any{"type": "Exact", "service": svc, "method": method}}
	}
	mo := map[string]any{"path": map[string]any{"type": "RegularExpression", "value": re}}
	if a.Method != "" {
		mo["method"] = a.Method
	}
	return mo
}

func backendRefs(bs []Backend) []any {
	var out []any
	for _, b := range bs {
		ref := map[string]any{"name": b.Service, "port": int64(b.Port), "weight": b.Weight}
		if b.Namespace != "" {
			ref["namespace"] = b.Namespace
		}
		out = append(out, ref)
	}
	return out
}

// routeObjects puts each policy's rules into route objects of at most 16 rules.
func (m *Migration) routeObjects(groups map[Policy][]rule, emit Emit) []*unstructured.Unstructured {
	apiVersion, kind := GatewayAPIVersion, "HTTPRoute"
	if m.old.GRPC {
		kind = "GRPCRoute"
		if emit == EmitLinkerd {
			m.note("policy.linkerd.io has no GRPCRoute: writing %s GRPCRoutes", GatewayAPIVersion)
		}
	} else if emit == EmitLinkerd {
		apiVersion = LinkerdAPIVersion
	}
	from := make([]string, len(m.Sources))
	for i, s := range m.Sources {
		from[i] = s.Kind + "/" + s.Name
	}
	used := map[string]bool{}
	var out []*unstructured.Unstructured
	for _, p := range sortedPolicies(groups, m.old.Default) {
		rules := groups[p]
		for part := 1; len(rules) > 0; part++ {
			n := min(len(rules), maxRulesPerRoute)
			name := uniqueName(used, m.Service+"-"+p.slug())
			ann := p.annotations()
			if len(from) > 0 {
				ann[AnnotationMigratedFrom] = strings.Join(from, ",")
			}
			items := make([]any, n)
			for i := range n {
				items[i] = rules[i]
			}
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": apiVersion,
				"kind":       kind,
				"metadata":   map[string]any{"name": name, "namespace": m.Namespace},
				"spec": map[string]any{
					"parentRefs": []any{map[string]any{"group": "core", "kind": "Service", "name": m.Service}},
					"rules":      items,
				},
			}}
			u.SetAnnotations(ann)
			out = append(out, u)
			rules = rules[n:]
		}
	}
	return out
}

func uniqueName(used map[string]bool, base string) string {
	name := base
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	used[name] = true
	return name
}

// region is the regex of the paths for which alternative a of route i must win: a's regex
// minus the earlier alternatives that HTTPRoute precedence would otherwise let it tie with or
// beat (same method, or no method on the earlier one). false when nothing is left.
func (m *Migration) region(i int, a match) (string, bool) {
	var drops []string
	for j := range i {
		for _, b := range m.old.Routes[j].Alts {
			if (b.Method == "" || b.Method == a.Method) && overlaps(a.Regex, b.Regex) {
				drops = append(drops, b.Regex)
			}
		}
	}
	if len(drops) == 0 {
		return a.Regex, true
	}
	name := m.old.Routes[i].Name
	if classes, ok := regex.PathClasses(append([]string{a.Regex}, drops...), 0); ok && !keeps(classes) {
		return "", false
	}
	re, ok := regex.PathMinus(a.Regex, drops)
	if !ok {
		m.note("route %q: its regex overlaps earlier routes' and could not be narrowed by automata: kept as is (see the proof)", name)
		return a.Regex, true
	}
	m.note("route %q: regex narrowed to the paths earlier routes do not take (first match wins in a ServiceProfile, not in an HTTPRoute)", name)
	return re, true
}

// overlaps tells whether some path matches both regexes (true when undecidable here).
func overlaps(a, b string) bool {
	if a == b {
		return true
	}
	if la, ok := literal(a); ok {
		if lb, ok := literal(b); ok {
			return la == lb
		}
	}
	classes, ok := regex.PathClasses([]string{a, b}, 0)
	if !ok {
		return true
	}
	for _, c := range classes {
		if c.Matches[0] && c.Matches[1] {
			return true
		}
	}
	return false
}

// keeps tells whether some class matches the first regex and none of the others.
func keeps(classes []regex.PathClass) bool {
	for _, c := range classes {
		if c.Matches[0] && !slices.Contains(c.Matches[1:], true) {
			return true
		}
	}
	return false
}

// literal returns the string a regex matches when it matches only that one.
func literal(expr string) (string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase != 0 {
		return "", false
	}
	return string(re.Rune), true
}
