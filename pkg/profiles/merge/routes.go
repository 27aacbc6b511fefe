package merge

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/internal/regex"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/profiles"
)

// catchAllIdentity names the generated catch-all rule among the match identities.
const catchAllIdentity = "catch-all"

// serverSetMetadata are the metadata fields the API server owns: `kubectl get -o yaml` prints
// them, an applied manifest must not carry them.
var serverSetMetadata = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// ReadRouteObjects reads the Kubernetes objects of a YAML or JSON file: a multi-document
// stream or a v1 List, as `kubectl get httproute,grpcroute -o yaml` prints. Gateway API
// HTTPRoutes and GRPCRoutes must decode as such; other objects are returned as they are. It
// fails when the file holds no HTTPRoute or GRPCRoute, or holds one object twice.
func ReadRouteObjects(source string, data []byte) ([]map[string]any, error) {
	var objs []map[string]any
	seen := map[string]bool{}
	routes := 0
	for i, doc := range profiles.SplitDocuments(data) {
		loc := fmt.Sprintf("document %d", i+1)
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, profiles.InputErrorf(source, loc, "not YAML or JSON: %v", err)
		}
		if v == nil {
			continue // comments only
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, profiles.InputErrorf(source, loc, "not a Kubernetes object")
		}
		items, where := []any{obj}, func(int) string { return loc }
		if obj["kind"] == "List" {
			if items, ok = obj["items"].([]any); !ok && obj["items"] != nil {
				return nil, profiles.InputErrorf(source, loc, "a List's items must be a list")
			}
			where = func(j int) string { return fmt.Sprintf("%s, items[%d]", loc, j) }
		}
		for j, it := range items {
			o, ok := it.(map[string]any)
			if !ok || asString(o["kind"]) == "" || objectName(o) == "" {
				return nil, profiles.InputErrorf(source, where(j), "not a Kubernetes object: it needs a kind and a metadata.name")
			}
			if kind := gatewayRouteKind(o); kind != "" {
				if err := checkRouteShape(kind, o); err != nil {
					return nil, profiles.InputErrorf(source, where(j), "invalid %s %s: %v", kind, objectName(o), err)
				}
				routes++
			}
			key := asString(o["apiVersion"]) + " " + asString(o["kind"]) + " " + namespaceOf(o, "") + "/" + objectName(o)
			if seen[key] {
				return nil, profiles.InputErrorf(source, where(j), "%s %s appears twice", asString(o["kind"]), objectName(o))
			}
			seen[key] = true
			objs = append(objs, o)
		}
	}
	if routes == 0 {
		return nil, profiles.InputErrorf(source, "", "no HTTPRoute or GRPCRoute (gateway.networking.k8s.io) in the file")
	}
	return objs, nil
}

// checkRouteShape decodes a route into its Gateway API type, so that the merge only meets
// fields of the types it expects.
func checkRouteShape(kind string, o map[string]any) error {
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if kind == "HTTPRoute" {
		return json.Unmarshal(data, new(gatewayv1.HTTPRoute))
	}
	return json.Unmarshal(data, new(gatewayv1.GRPCRoute))
}

// gatewayRouteKind is "HTTPRoute" or "GRPCRoute" for Gateway API routes, "" for anything else
// (Linkerd's own policy.linkerd.io HTTPRoute included).
func gatewayRouteKind(o map[string]any) string {
	group, _, _ := strings.Cut(asString(o["apiVersion"]), "/")
	kind := asString(o["kind"])
	if group != gatewayv1.GroupName || (kind != "HTTPRoute" && kind != "GRPCRoute") {
		return ""
	}
	return kind
}

// attachedTo tells whether a route lives in namespace ns and has the Service ns/service among
// its parents. A route in another namespace pointing at the Service is a consumer route (it
// steers only that namespace's clients): it is not the Service's to merge.
func attachedTo(o map[string]any, ns, service string) bool {
	if namespaceOf(o, ns) != ns {
		return false
	}
	for _, p := range asSlice(asMap(o["spec"])["parentRefs"]) {
		ref := asMap(p)
		refNS := asString(ref["namespace"])
		if refNS == "" {
			refNS = ns
		}
		if asString(ref["kind"]) == "Service" && asString(ref["name"]) == service && refNS == ns {
			return true
		}
	}
	return false
}

func isGenerated(o map[string]any) bool {
	return gatewayRouteKind(o) != "" && nestedString(o, "metadata", "labels", kube.LabelManagedBy) == kube.ManagedBy
}

// matchIdentity names a match of the shape the generator emits: "METHOD REGEX" for an
// HTTPRoute, "/service/Method" for a GRPCRoute, catchAllIdentity for the "/" prefix. Matches
// of any other shape (headers, query parameters, other path types) were written by hand.
func matchIdentity(kind string, m map[string]any) (string, bool) {
	if kind == "GRPCRoute" {
		mm := asMap(m["method"])
		svc, method := asString(mm["service"]), asString(mm["method"])
		fields := 2
		if typ, ok := mm["type"]; ok {
			if typ != string(gatewayv1.GRPCMethodMatchExact) {
				return "", false
			}
			fields++
		}
		if len(m) != 1 || svc == "" || method == "" || len(mm) != fields {
			return "", false
		}
		return "/" + svc + "/" + method, true
	}
	path := asMap(m["path"])
	typ, value := asString(path["type"]), asString(path["value"])
	if len(path) != 2 {
		return "", false
	}
	if method, ok := m["method"].(string); ok && len(m) == 2 && typ == string(gatewayv1.PathMatchRegularExpression) {
		return method + " " + value, true
	}
	if len(m) == 1 && typ == string(gatewayv1.PathMatchPathPrefix) && value == "/" {
		return catchAllIdentity, true
	}
	return "", false
}

// ruleParts splits a rule into the identities of its generated-shape matches and a rule of its
// hand-written matches (nil when it has none). Rule fields other than matches (backendRefs,
// filters, timeouts) go with both. An HTTPRoute rule without matches is hand-written (the
// generator always lists them); a GRPCRoute rule without matches is the generated catch-all.
func ruleParts(kind string, rule map[string]any) (ids []string, hand map[string]any) {
	matches := asSlice(rule["matches"])
	if len(matches) == 0 {
		if kind == "GRPCRoute" {
			return []string{catchAllIdentity}, nil
		}
		return nil, rule
	}
	var own []any
	for _, m := range matches {
		if id, ok := matchIdentity(kind, asMap(m)); ok {
			ids = append(ids, id)
		} else {
			own = append(own, m)
		}
	}
	if len(own) > 0 {
		hand = without(rule, "matches")
		hand["matches"] = own
	}
	return ids, hand
}

// RouteMerge is existing route objects updated with generated ones, as Routes returns them.
type RouteMerge struct {
	// Objects are the manifests to print: hand-written objects first, in their order and
	// without the fields the API server sets, then the generated ones.
	Objects []map[string]any
	// Yours is how many of Objects are hand-written: printed so that a file stays whole, but
	// never applied, so that trafficctl takes no ownership of their fields.
	Yours int
	// Changes has one line per change; lines starting "conflict:" name something written by
	// hand that the merge overrode or that competes with a generated route.
	Changes []string
}

// oldObject is an existing generated route object taken apart.
type oldObject struct {
	obj       map[string]any
	handRules []any
	genRules  []oldRule
}

type oldRule struct {
	extras map[string]any
	ids    []string
}

// Routes updates existing route objects (as ReadRouteObjects returns them) with the
// generated routes of ro, mirroring ServiceProfile for ServiceProfiles. Objects not attached to
// the Service (other Services' routes, other kinds) are left out, as reported changes; of the
// rest:
//
//   - objects without the managed-by label are the user's: kept first, unchanged; a generated
//     match identical to one of theirs is left out, so theirs decides;
//   - generated objects are regenerated from the contract, keeping what the user added to
//     them: labels, annotations (a policy annotation edited by hand gives way to the contract,
//     as a reported conflict), parentRefs, hostnames and other spec fields, rules and matches
//     of their own (headers, query parameters, other path types), and the backendRefs, filters
//     and timeouts of the rules (the split command puts weights on every rule);
//   - a generated object the contract no longer needs is dropped, and the change says to
//     delete it, since applying the merge does not; it is kept if it has rules of the user's.
//
// New objects take the parentRefs, hostnames and rule fields every old generated object of
// their kind shared. It fails when a merged object exceeds Gateway API's rules per route.
func Routes(existing []map[string]any, ro *profiles.RouteObjects) (*RouteMerge, error) {
	gen, names, err := generatedManifests(ro)
	if err != nil {
		return nil, err
	}
	m := newRouteMerger(gen, names)
	// The phases: sort the existing objects out, merge each generated object into its old
	// version (or add it), keep what is left of old objects that the user added rules to, and
	// say what happened to each route.
	if err := m.readExisting(existing, gen); err != nil {
		return nil, err
	}
	m.defaults = kindDefaults(m.olds, m.oldOrder)
	for _, n := range gen {
		if err := m.mergeGenerated(n); err != nil {
			return nil, err
		}
	}
	m.keepLeftovers()
	reportRoutes(m.report, m.oldIDs, m.oldLoc, m.newIDs, m.newLoc, m.names, m.userOwned)
	return m.res, nil
}

// routeMerger is the state Routes builds up over its phases. Match identities are keyed
// "KIND IDENTITY" (see matchIdentity); objects "KIND NAME".
type routeMerger struct {
	res         *RouteMerge
	names       map[string]string // identity -> the plan route's name, for messages
	service, ns string            // the Service the generated routes attach to

	olds     map[string]*oldObject // old generated objects not yet merged
	oldOrder []string              // their keys, in the file's order
	defaults map[string]kindDefault

	handIDs map[string]string // identity -> the user's object holding it
	oldLoc  map[string]string // identity -> the old generated object holding it
	oldIDs  []string          // identities of old generated objects, in order

	newLoc    map[string]string // identity -> the generated object now holding it
	newIDs    []string          // identities of generated objects, in order
	userOwned map[string]bool   // identities left to the user's objects
}

func newRouteMerger(gen []map[string]any, names map[string]string) *routeMerger {
	m := &routeMerger{
		res:       &RouteMerge{},
		names:     names,
		olds:      map[string]*oldObject{},
		handIDs:   map[string]string{},
		oldLoc:    map[string]string{},
		newLoc:    map[string]string{},
		userOwned: map[string]bool{},
	}
	if len(gen) > 0 {
		m.service = asString(asMap(asSlice(asMap(gen[0]["spec"])["parentRefs"])[0])["name"])
		m.ns = namespaceOf(gen[0], "")
	}
	return m
}

func (m *routeMerger) report(format string, args ...any) {
	m.res.Changes = append(m.res.Changes, fmt.Sprintf(format, args...))
}

// readExisting sorts the existing objects out: other kinds and other Services' routes are left
// out, the user's objects are kept as they are, old generated objects are taken apart.
func (m *routeMerger) readExisting(existing, gen []map[string]any) error {
	genNames := map[string]bool{}
	for _, n := range gen {
		genNames[asString(n["kind"])+" "+objectName(n)] = true
	}
	for _, o := range existing {
		kind := gatewayRouteKind(o)
		switch {
		case kind == "":
			m.report("left out %s %s: the merge reads HTTPRoutes and GRPCRoutes only", asString(o["kind"]), objectName(o))
		case !attachedTo(o, m.ns, m.service):
			m.report("left out %s %s/%s: it is not a route of the Service %s/%s", kind, namespaceOf(o, m.ns), objectName(o), m.ns, m.service)
		case !isGenerated(o):
			if genNames[kind+" "+objectName(o)] {
				return fmt.Errorf("your %s %s has no %s=%s label but the name of a generated one: rename it to keep it as yours, or add the label to have it merged", kind, objectName(o), kube.LabelManagedBy, kube.ManagedBy)
			}
			m.keepUsers(kind, o)
		default:
			m.takeApart(kind, o)
		}
	}
	return nil
}

// keepUsers keeps an object of the user's as it is and notes the identities of its matches.
func (m *routeMerger) keepUsers(kind string, o map[string]any) {
	m.res.Objects = append(m.res.Objects, cleanObject(o))
	m.res.Yours++
	m.report("kept hand-written %s %s", kind, objectName(o))
	for _, r := range asSlice(asMap(o["spec"])["rules"]) {
		ids, _ := ruleParts(kind, asMap(r))
		for _, id := range ids {
			m.handIDs[kind+" "+id] = objectName(o)
		}
	}
}

// takeApart splits an old generated object into its hand-written rules and its generated ones.
func (m *routeMerger) takeApart(kind string, o map[string]any) {
	old := &oldObject{obj: o}
	for _, r := range asSlice(asMap(o["spec"])["rules"]) {
		ids, hand := ruleParts(kind, asMap(r))
		if hand != nil {
			old.handRules = append(old.handRules, hand)
		}
		if len(ids) > 0 {
			old.genRules = append(old.genRules, oldRule{extras: without(asMap(r), "matches"), ids: ids})
		}
		for _, id := range ids {
			k := kind + " " + id
			if _, dup := m.oldLoc[k]; !dup {
				m.oldIDs = append(m.oldIDs, k)
			}
			m.oldLoc[k] = objectName(o)
		}
	}
	key := kind + " " + objectName(o)
	m.olds[key] = old
	m.oldOrder = append(m.oldOrder, key)
}

// mergeGenerated merges the generated object n into its old version, or adds it.
func (m *routeMerger) mergeGenerated(n map[string]any) error {
	kind, name := asString(n["kind"]), objectName(n)
	key := kind + " " + name
	old := m.olds[key]
	delete(m.olds, key)
	rules := m.generatedRules(kind, name, n)
	if old == nil {
		m.addNew(kind, name, n, rules)
		return nil
	}
	merged := mergeObject(old, n, m.report)
	extras := assignExtras(kind, old, rules, m.defaults[kind].extras)
	if len(extras.keys) > 0 {
		m.report("kept the %s of the rules of %s %s", strings.Join(extras.keys, ", "), kind, name)
	}
	if extras.conflict {
		m.report("conflict: the generated rules of %s %s had different %s; each new rule took those of the old rule with most of its matches: check them", kind, name, strings.Join(extras.keys, ", "))
	}
	all := append(slices.Clone(old.handRules), rules...)
	if len(old.handRules) > 0 {
		m.report("kept %d hand-written rule(s) of %s %s", len(old.handRules), kind, name)
	}
	if len(all) > profiles.MaxRulesPerRoute {
		return fmt.Errorf("%s %s would have %d rules, over Gateway API's limit of %d: move your own rules to a %s without the %s=%s label", kind, name, len(all), profiles.MaxRulesPerRoute, kind, kube.LabelManagedBy, kube.ManagedBy)
	}
	if len(all) == 0 {
		m.report("removed %s %s: your own routes have all its matches; delete it from the cluster: kubectl delete %s %s -n %s", kind, name, strings.ToLower(kind), name, m.ns)
		return nil
	}
	asMap(merged["spec"])["rules"] = all
	m.res.Objects = append(m.res.Objects, merged)
	return nil
}

// generatedRules are the rules of the generated object n without the matches the user's own
// objects have (theirs decide), noting where each remaining identity now lives.
func (m *routeMerger) generatedRules(kind, name string, n map[string]any) []any {
	var rules []any
	for _, r := range asSlice(asMap(n["spec"])["rules"]) {
		rule := asMap(r)
		// Every generated match has an identity: ids[i] is that of matches[i], or the
		// catch-all of a GRPCRoute rule without matches.
		ids, _ := ruleParts(kind, rule)
		matches := asSlice(rule["matches"])
		var keep []any
		for i, id := range ids {
			if owner, ok := m.handIDs[kind+" "+id]; ok {
				m.userOwned[kind+" "+id] = true
				m.report("conflict: left %s to your %s %s, which has the same match", m.names[kind+" "+id], kind, owner)
				continue
			}
			if k := kind + " " + id; m.newLoc[k] == "" {
				m.newIDs = append(m.newIDs, k)
				m.newLoc[k] = name
			}
			if len(matches) > 0 {
				keep = append(keep, matches[i])
			} else {
				keep = append(keep, nil)
			}
		}
		if len(keep) == 0 {
			continue
		}
		if len(matches) > 0 {
			rule["matches"] = keep
		}
		rules = append(rules, rule)
	}
	return rules
}

// addNew adds a generated object that has no old version, with the spec fields and rule
// fields every old generated object of its kind shared.
func (m *routeMerger) addNew(kind, name string, n map[string]any, rules []any) {
	if len(rules) == 0 {
		return
	}
	spec := asMap(n["spec"])
	m.report("added %s %s", kind, name)
	d := m.defaults[kind]
	for _, f := range slices.Sorted(maps.Keys(d.spec)) {
		if !sameJSON(spec[f], d.spec[f]) {
			spec[f] = clone(d.spec[f])
			m.report("gave %s %s the spec.%s all your generated %ss have", kind, name, f, kind)
		}
	}
	if len(d.extras) > 0 {
		for _, r := range rules {
			mergeInto(asMap(r), d.extras)
		}
		m.report("gave the rules of %s %s the %s all your generated %s rules have", kind, name, strings.Join(slices.Sorted(maps.Keys(d.extras)), ", "), kind)
	}
	spec["rules"] = rules
	m.res.Objects = append(m.res.Objects, n)
}

// keepLeftovers handles the old generated objects no generated object replaced: dropped (the
// change says to delete them), or kept with only the user's rules.
func (m *routeMerger) keepLeftovers() {
	for _, key := range m.oldOrder {
		old, left := m.olds[key]
		if !left {
			continue
		}
		kind, name := asString(old.obj["kind"]), objectName(old.obj)
		if len(old.handRules) == 0 {
			m.report("removed %s %s: no route of the contract has its policy any more; applying the merge does not delete it: kubectl delete %s %s -n %s", kind, name, strings.ToLower(kind), name, m.ns)
			continue
		}
		kept := cleanObject(old.obj)
		asMap(kept["spec"])["rules"] = old.handRules
		m.res.Objects = append(m.res.Objects, kept)
		m.report("kept %s %s for its %d hand-written rule(s): no route of the contract has its policy any more", kind, name, len(old.handRules))
	}
}

// reportRoutes lists the routes added, moved between objects (their policy changed), updated
// (a regex that changed with its siblings) and removed.
func reportRoutes(report func(string, ...any), oldIDs []string, oldLoc map[string]string, newIDs []string, newLoc, names map[string]string, userOwned map[string]bool) {
	var added []string
	for _, k := range newIDs {
		switch prev, ok := oldLoc[k]; {
		case !ok:
			added = append(added, k)
		case prev != newLoc[k]:
			report("moved route %s from %s %s to %s (its policy changed)", names[k], kindOf(k), prev, newLoc[k])
		}
	}
	paired := map[string]bool{}
	for _, k := range oldIDs {
		if _, ok := newLoc[k]; ok || userOwned[k] {
			continue
		}
		if n := pairUpdated(k, added, paired); n != "" {
			paired[n] = true
			move := ""
			if oldLoc[k] != newLoc[n] {
				move = fmt.Sprintf(", moved from %s %s to %s", kindOf(k), oldLoc[k], newLoc[n])
			}
			report("updated route %s (path regex %s -> %s%s)", names[n], regexOf(k), regexOf(n), move)
			continue
		}
		report("removed match %s from %s %s: the contract no longer has it (matches of your own belong in a route without the %s=%s label)", strings.TrimPrefix(k, kindOf(k)+" "), kindOf(k), oldLoc[k], kube.LabelManagedBy, kube.ManagedBy)
	}
	for _, k := range added {
		if !paired[k] {
			report("added route %s (%s %s)", names[k], kindOf(k), newLoc[k])
		}
	}
}

// pairUpdated finds the added HTTP match that an old one became: same method, and the old
// regex matches paths sampled from the new one.
func pairUpdated(old string, added []string, paired map[string]bool) string {
	if kindOf(old) != "HTTPRoute" || strings.HasSuffix(old, " "+catchAllIdentity) {
		return ""
	}
	oldRe, err := regexp.Compile(regexOf(old))
	if err != nil {
		return ""
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for _, n := range added {
		if paired[n] || kindOf(n) != "HTTPRoute" || methodOf(n) != methodOf(old) || strings.HasSuffix(n, " "+catchAllIdentity) {
			continue
		}
		for range 8 {
			if s, err := regex.Sample(regexOf(n), rng); err == nil && oldRe.MatchString(s) {
				return n
			}
		}
	}
	return ""
}

// Parts of a "KIND METHOD REGEX" identity key.
func kindOf(k string) string   { return strings.SplitN(k, " ", 3)[0] }
func methodOf(k string) string { return strings.SplitN(k, " ", 3)[1] }
func regexOf(k string) string {
	parts := strings.SplitN(k, " ", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

// generatedManifests turns ro into manifests and names every identity after its plan route.
func generatedManifests(ro *profiles.RouteObjects) ([]map[string]any, map[string]string, error) {
	names := map[string]string{"HTTPRoute " + catchAllIdentity: "the catch-all rule", "GRPCRoute " + catchAllIdentity: "the catch-all rule"}
	var out []map[string]any
	for i, r := range ro.HTTP {
		m, err := profiles.Manifest(r)
		if err != nil {
			return nil, nil, fmt.Errorf("encode manifest: %w", err)
		}
		for ri, rule := range r.Spec.Rules {
			for mi, match := range rule.Matches {
				if match.Method != nil && match.Path != nil && match.Path.Value != nil {
					names["HTTPRoute "+string(*match.Method)+" "+*match.Path.Value] = fmt.Sprintf("%q", ro.MatchNames[i][ri][mi])
				}
			}
		}
		out = append(out, m)
	}
	for _, r := range ro.GRPC {
		m, err := profiles.Manifest(r)
		if err != nil {
			return nil, nil, fmt.Errorf("encode manifest: %w", err)
		}
		for _, rule := range r.Spec.Rules {
			for _, match := range rule.Matches {
				if match.Method != nil && match.Method.Service != nil && match.Method.Method != nil {
					id := "/" + *match.Method.Service + "/" + *match.Method.Method
					names["GRPCRoute "+id] = fmt.Sprintf("%q", id)
				}
			}
		}
		out = append(out, m)
	}
	return out, names, nil
}

// kindDefault is what every old generated object of a kind shared: spec fields other than
// rules, and rule fields other than matches.
type kindDefault struct {
	spec   map[string]any
	extras map[string]any
}

func kindDefaults(olds map[string]*oldObject, order []string) map[string]kindDefault {
	out := map[string]kindDefault{}
	for _, kind := range []string{"HTTPRoute", "GRPCRoute"} {
		var specs, extras []map[string]any
		for _, key := range order {
			if o := olds[key]; kindOf(key) == kind {
				specs = append(specs, without(asMap(o.obj["spec"]), "rules"))
				for _, r := range o.genRules {
					extras = append(extras, r.extras)
				}
			}
		}
		out[kind] = kindDefault{spec: shared(specs), extras: shared(extras)}
	}
	return out
}

// shared is the fields all maps have with equal values.
func shared(maps []map[string]any) map[string]any {
	if len(maps) == 0 {
		return nil
	}
	out := map[string]any{}
	for k, v := range maps[0] {
		same := true
		for _, m := range maps[1:] {
			if w, ok := m[k]; !ok || !sameJSON(v, w) {
				same = false
				break
			}
		}
		if same {
			out[k] = v
		}
	}
	return out
}

// mergeObject is the generated object n with what the user added to its old version: metadata,
// spec fields other than rules. Policy annotations the contract sets win, as conflicts.
func mergeObject(old *oldObject, n map[string]any, report func(string, ...any)) map[string]any {
	kind, name := asString(n["kind"]), objectName(n)
	out := clone(n).(map[string]any)
	md := asMap(cleanObject(old.obj)["metadata"])
	nmd := asMap(n["metadata"])
	if ns := asString(nmd["namespace"]); asString(md["namespace"]) != "" && asString(md["namespace"]) != ns {
		report("moved %s %s from namespace %s to %s", kind, name, asString(md["namespace"]), ns)
	}
	md["name"], md["namespace"] = nmd["name"], nmd["namespace"]
	for _, field := range []string{"labels", "annotations"} {
		have, want := asMap(md[field]), asMap(nmd[field])
		merged := map[string]any{}
		for k, v := range have {
			merged[k] = v
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			switch v, ok := have[k]; {
			case !ok:
				report("conflict: %s %s: %s %s=%s, missing from your file, is back: the contract sets it", kind, name, field[:len(field)-1], k, asString(want[k]))
			case v != want[k]:
				report("conflict: %s %s: %s %s=%s edited by hand is now %s, as the contract says (change the contract, or move those routes to a route object of your own)", kind, name, field[:len(field)-1], k, asString(v), asString(want[k]))
			}
			merged[k] = want[k]
		}
		for _, k := range slices.Sorted(maps.Keys(have)) {
			if _, gen := want[k]; !gen {
				report("kept %s %s of %s %s", field[:len(field)-1], k, kind, name)
			}
		}
		if len(merged) > 0 {
			md[field] = merged
		}
	}
	out["metadata"] = md
	spec := asMap(out["spec"])
	oldSpec := asMap(old.obj["spec"])
	for _, f := range slices.Sorted(maps.Keys(oldSpec)) {
		if f == "rules" {
			continue
		}
		if !sameJSON(oldSpec[f], spec[f]) {
			report("kept the spec.%s of %s %s", f, kind, name)
		}
		spec[f] = oldSpec[f]
	}
	for _, f := range slices.Sorted(maps.Keys(spec)) {
		if _, ok := oldSpec[f]; !ok && f != "rules" {
			report("conflict: %s %s: spec.%s, missing from your file, is back: the contract sets it", kind, name, f)
		}
	}
	return out
}

type extrasResult struct {
	keys     []string
	conflict bool
}

// assignExtras gives the regenerated rules of an object the rule fields (backendRefs, filters,
// ...) of its old generated rules: all of them when the old rules agreed, otherwise those of
// the old rule sharing most matches with each new rule.
func assignExtras(kind string, old *oldObject, rules []any, fallback map[string]any) extrasResult {
	var res extrasResult
	var distinct []map[string]any
	for _, r := range old.genRules {
		if !slices.ContainsFunc(distinct, func(d map[string]any) bool { return sameJSON(d, r.extras) }) {
			distinct = append(distinct, r.extras)
		}
	}
	keys := map[string]bool{}
	for _, r := range rules {
		rule := asMap(r)
		var extras map[string]any
		switch len(distinct) {
		case 0:
			extras = fallback
		case 1:
			extras = distinct[0]
		default:
			res.conflict = true
			ids, _ := ruleParts(kind, rule)
			best := -1
			for _, o := range old.genRules {
				n := 0
				for _, id := range o.ids {
					if slices.Contains(ids, id) {
						n++
					}
				}
				if n > best {
					best, extras = n, o.extras
				}
			}
		}
		mergeInto(rule, extras)
		for k := range extras {
			keys[k] = true
		}
	}
	res.keys = slices.Sorted(maps.Keys(keys))
	return res
}

func mergeInto(rule, extras map[string]any) {
	for k, v := range extras {
		rule[k] = clone(v)
	}
}

// cleanObject is a copy of o without status and server-set metadata.
func cleanObject(o map[string]any) map[string]any {
	out := clone(o).(map[string]any)
	delete(out, "status")
	md := asMap(out["metadata"])
	for _, f := range serverSetMetadata {
		delete(md, f)
	}
	return out
}

func objectName(o map[string]any) string { return nestedString(o, "metadata", "name") }

// namespaceOf is o's namespace, or def when o names none (it then goes where it is applied).
func namespaceOf(o map[string]any, def string) string {
	if ns := nestedString(o, "metadata", "namespace"); ns != "" {
		return ns
	}
	return def
}

// nestedString is the string at path in o, or "" when there is none (or something else).
func nestedString(o map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(o, path...)
	return s
}

// asMap, asSlice and asString read one level of a JSON-shaped value, "" or nil when it has
// another type. The merge edits rules and matches in place and keeps their order, so it walks
// maps and slices with these rather than unstructured.NestedSlice/SetNestedField, which copy.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// without is a shallow copy of m without the key.
func without(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// clone deep-copies a JSON-shaped value.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clone(e)
		}
		return out
	default:
		return v
	}
}
