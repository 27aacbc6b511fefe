package migrate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// newMatch is one match of a route rule as Linkerd ranks it.
type newMatch struct {
	Label  string // "HTTPRoute web-svc-default rule 1"
	Route  string
	Regex  string // the whole-path regex of the paths it matches
	Prefix string // the prefix of a PathPrefix match ("" otherwise)
	Method string
	Policy Policy
}

// newModel is what the new routes do.
type newModel struct {
	Matches []newMatch
	GRPC    bool
	// Notes name matches the proof cannot model (header or query matches: requests without
	// them never match).
	Notes []string
}

// readRoutes models route objects in Linkerd's order of creation-time ties: by name.
func readNewModel(routes []*unstructured.Unstructured) newModel {
	sorted := append([]*unstructured.Unstructured(nil), routes...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].GetName() < sorted[j].GetName() })
	var nm newModel
	for _, u := range sorted {
		grpc := u.GetKind() == "GRPCRoute"
		nm.GRPC = nm.GRPC || grpc
		base := annotationPolicy(u.GetAnnotations())
		if grpc && base.RetryHTTP != "" {
			nm.Notes = append(nm.Notes, fmt.Sprintf("GRPCRoute %s: %s is invalid on a GRPCRoute", u.GetName(), AnnotationRetryHTTP))
		}
		rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
		for i, r := range rules {
			rm, _ := r.(map[string]any)
			label := fmt.Sprintf("%s %s rule %d", u.GetKind(), u.GetName(), i+1)
			p := base
			if t, ok, _ := unstructured.NestedString(rm, "timeouts", "request"); ok {
				p.Timeout = t
			}
			p.Backends = ruleBackends(rm)
			matches, _ := rm["matches"].([]any)
			if len(matches) == 0 {
				nm.Matches = append(nm.Matches, newMatch{Label: label, Route: u.GetName(), Regex: "/.*", Prefix: "/", Policy: p})
			}
			for _, x := range matches {
				mm, _ := x.(map[string]any)
				nmatch, note := readMatch(mm, grpc)
				if note != "" {
					nm.Notes = append(nm.Notes, label+": "+note)
					continue
				}
				nmatch.Label, nmatch.Route, nmatch.Policy = label, u.GetName(), p
				nm.Matches = append(nm.Matches, nmatch)
			}
		}
	}
	return nm
}

func annotationPolicy(a map[string]string) Policy {
	return Policy{
		Timeout:    a[AnnotationTimeoutRequest],
		RetryHTTP:  a[AnnotationRetryHTTP],
		RetryGRPC:  a[AnnotationRetryGRPC],
		RetryLimit: a[AnnotationRetryLimit],
	}
}

func ruleBackends(rm map[string]any) string {
	var refs []struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		Port      int32  `json:"port"`
		Weight    *int64 `json:"weight"`
	}
	_ = fromMap(rm["backendRefs"], &refs)
	bs := make([]Backend, len(refs))
	for i, r := range refs {
		bs[i] = Backend{Service: r.Name, Namespace: r.Namespace, Port: r.Port, Weight: 1}
		if r.Weight != nil {
			bs[i].Weight = *r.Weight
		}
	}
	return backendsKey(bs)
}

// readMatch models one match; a note says why it cannot be.
func readMatch(mm map[string]any, grpc bool) (newMatch, string) {
	if len(asSlice(mm["headers"])) > 0 || len(asSlice(mm["queryParams"])) > 0 {
		return newMatch{}, "a header or query match (requests without them never match it)"
	}
	if grpc {
		t, _, _ := unstructured.NestedString(mm, "method", "type")
		svc, _, _ := unstructured.NestedString(mm, "method", "service")
		method, _, _ := unstructured.NestedString(mm, "method", "method")
		if t != "" && t != "Exact" {
			return newMatch{}, "a " + t + " method match (Linkerd rejects them)"
		}
		switch {
		case svc != "" && method != "":
			return newMatch{Regex: regexp.QuoteMeta("/" + svc + "/" + method)}, ""
		case svc != "":
			return newMatch{Regex: regexp.QuoteMeta("/"+svc+"/") + "[^/]*"}, ""
		}
		return newMatch{Regex: "/.*", Prefix: "/"}, ""
	}
	t, _, _ := unstructured.NestedString(mm, "path", "type")
	v, ok, _ := unstructured.NestedString(mm, "path", "value")
	if !ok {
		v = "/"
	}
	method, _ := mm["method"].(string)
	switch t {
	case "Exact":
		return newMatch{Regex: regexp.QuoteMeta(v), Method: method}, ""
	case "RegularExpression":
		if _, err := regexp.Compile(v); err != nil {
			return newMatch{}, fmt.Sprintf("regex %q does not compile: %v", v, err)
		}
		return newMatch{Regex: v, Method: method}, ""
	}
	p := strings.TrimSuffix(v, "/")
	if p == "" {
		return newMatch{Regex: "/.*", Prefix: "/", Method: method}, ""
	}
	return newMatch{Regex: regexp.QuoteMeta(p) + "(?:/.*)?", Prefix: v, Method: method}, ""
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// ReadRoutes reads HTTPRoutes and GRPCRoutes from a YAML or JSON stream (a `kind: List`
// included); other kinds are skipped.
func ReadRoutes(source string, data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	err := decodeObjects(source, data, func(obj map[string]any) error {
		u := &unstructured.Unstructured{Object: obj}
		if k := u.GetKind(); k == "HTTPRoute" || k == "GRPCRoute" {
			out = append(out, u)
		}
		return nil
	})
	return out, err
}

// UseRoutes replaces the migration's routes with those of routes attached to its Service (a
// set written or edited by hand) and proves the old objects against them.
func (m *Migration) UseRoutes(routes []*unstructured.Unstructured) {
	var mine []*unstructured.Unstructured
	for _, r := range routes {
		ns := r.GetNamespace()
		if ns == "" {
			ns = m.Namespace
		}
		if ns != m.Namespace {
			continue
		}
		parents, _, _ := unstructured.NestedSlice(r.Object, "spec", "parentRefs")
		for _, p := range parents {
			pm, _ := p.(map[string]any)
			if pm["kind"] == "Service" && pm["name"] == m.Service {
				mine = append(mine, r)
				break
			}
		}
	}
	m.Routes = mine
	m.Proof = m.ProveAgainst(mine)
}
