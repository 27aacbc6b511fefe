package lint

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/internal/regex"
	"github.com/trafficctl/trafficctl/pkg/profiles"
)

// samplesPerCheck is how many sampled requests decide that a route shadows or overlaps
// another: the number pkg/profiles' overlap checks use, so lint and generator agree.
const samplesPerCheck = 24

// Finding is one problem trafficctl lint reports.
type Finding struct {
	// File is the file the object is in.
	File string
	// Object is "Kind namespace/name".
	Object string
	// Route names the route or rule, when the finding is about one.
	Route string
	// Message says what is wrong and what to do.
	Message string
}

// String is the finding as trafficctl lint prints it: "FILE: OBJECT[: ROUTE]: MESSAGE".
func (f Finding) String() string {
	s := f.File + ": " + f.Object
	if f.Route != "" {
		s += ": " + f.Route
	}
	return s + ": " + f.Message
}

// lintObject is one manifest found in a file.
type lintObject struct {
	file string
	obj  map[string]any
}

func (o lintObject) kind() string { return str(o.obj, "kind") }
func (o lintObject) group() string {
	g, _, _ := strings.Cut(str(o.obj, "apiVersion"), "/")
	return g
}
func (o lintObject) name() string      { return str(mapOf(o.obj, "metadata"), "name") }
func (o lintObject) namespace() string { return str(mapOf(o.obj, "metadata"), "namespace") }
func (o lintObject) describe() string {
	if ns := o.namespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", o.kind(), ns, o.name())
	}
	return fmt.Sprintf("%s %s", o.kind(), o.name())
}

// Linter collects the objects of several files and checks them together: some rules (a
// ServiceProfile and an HTTPRoute for the same Service, a Service's catch-all) span files.
type Linter struct {
	objects []lintObject
}

// Add reads the ServiceProfiles, HTTPRoutes and GRPCRoutes of a YAML or JSON file (several
// documents, or a List). Other kinds are ignored.
func (l *Linter) Add(file string, data []byte) error {
	for i, doc := range profiles.SplitDocuments(data) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return profiles.InputErrorf(file, fmt.Sprintf("document %d", i+1), "not YAML or JSON: %v", err)
		}
		if obj == nil {
			continue
		}
		items := []map[string]any{obj}
		if str(obj, "kind") == "List" || strings.HasSuffix(str(obj, "kind"), "List") {
			items = nil
			for _, it := range list(obj, "items") {
				if m, ok := it.(map[string]any); ok {
					items = append(items, m)
				}
			}
		}
		for _, it := range items {
			o := lintObject{file: file, obj: it}
			switch {
			case o.kind() == profiles.ServiceProfileKind && o.group() == "linkerd.io",
				(o.kind() == "HTTPRoute" || o.kind() == "GRPCRoute") && (o.group() == "gateway.networking.k8s.io" || o.group() == "policy.linkerd.io"):
				l.objects = append(l.objects, o)
			}
		}
	}
	return nil
}

// Objects is how many objects were read for checking.
func (l *Linter) Objects() int { return len(l.objects) }

// Lint returns the findings, in file and object order.
func (l *Linter) Lint() []Finding {
	var out []Finding
	profiled := map[string]lintObject{} // "ns/service" -> ServiceProfile
	for _, o := range l.objects {
		if o.kind() == profiles.ServiceProfileKind {
			out = append(out, lintServiceProfile(o)...)
			if svc, ns, ok := profileService(o.name()); ok && hasPolicy(o) {
				profiled[ns+"/"+svc] = o
			}
		}
	}
	routesBySvc := map[string][]lintObject{}
	var svcOrder []string
	for _, o := range l.objects {
		if o.kind() == profiles.ServiceProfileKind {
			continue
		}
		out = append(out, lintRoute(o)...)
		for _, key := range serviceParents(o) {
			if _, ok := routesBySvc[key]; !ok {
				svcOrder = append(svcOrder, key)
			}
			routesBySvc[key] = append(routesBySvc[key], o)
		}
	}
	for _, key := range svcOrder {
		routes := routesBySvc[key]
		first := routes[0]
		if sp, ok := profiled[key]; ok {
			out = append(out, Finding{File: first.file, Object: first.describe(), Message: fmt.Sprintf(
				"ServiceProfile %s (%s) also sets routes for Service %s: Linkerd uses the profile and ignores this route's retry and timeout policy; keep one of the two", sp.name(), sp.file, key)})
		}
		if !hasCatchAll(routes) {
			fix := "add a rule with a PathPrefix / match"
			if first.kind() == "GRPCRoute" {
				fix = "add a rule without matches"
			}
			out = append(out, Finding{File: first.file, Object: first.describe(), Message: fmt.Sprintf(
				"no rule of the routes attached to Service %s matches every request: once a route is attached Linkerd answers 404 to what no rule matches; %s", key, fix)})
		}
		out = append(out, overlappingRules(routes)...)
	}
	return out
}

// hasPolicy tells whether a ServiceProfile has what makes Linkerd prefer it over HTTPRoutes.
func hasPolicy(o lintObject) bool {
	spec := mapOf(o.obj, "spec")
	return len(list(spec, "routes")) > 0 || len(list(spec, "dstOverrides")) > 0
}

// profileService splits "svc.ns.svc.domain".
func profileService(name string) (svc, ns string, ok bool) {
	parts := strings.SplitN(name, ".", 4)
	if len(parts) < 4 || parts[2] != "svc" || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// lintServiceProfile checks a ServiceProfile: its name, routes, retry budget and dstOverrides.
func lintServiceProfile(o lintObject) []Finding {
	var out []Finding
	add := func(route, format string, args ...any) {
		out = append(out, Finding{File: o.file, Object: o.describe(), Route: route, Message: fmt.Sprintf(format, args...)})
	}
	svc, ns, ok := profileService(o.name())
	switch {
	case !ok:
		add("", "the name must be SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN (e.g. web.emojivoto.svc.cluster.local): Linkerd looks profiles up by that name")
	case o.namespace() != "" && ns != o.namespace():
		add("", "the name says namespace %q but the profile is in %q: Linkerd only reads profiles named for their own namespace's Service %s", ns, o.namespace(), svc)
	}
	spec := mapOf(o.obj, "spec")
	shadowedRoutes(lintProfileRoutes(spec, add), add)
	lintRetryBudget(spec, add)
	for i, d := range list(spec, "dstOverrides") {
		dm, _ := d.(map[string]any)
		if str(dm, "authority") == "" {
			add("", "dstOverrides[%d] has no authority", i)
		}
	}
	return out
}

// addFunc records a finding about a route ("" for the whole object).
type addFunc func(route, format string, args ...any)

// simpleRoute is a ServiceProfile route that is only a method and a path regex: whether an
// earlier one shadows it is decided on samples of its regex.
type simpleRoute struct {
	label, method string
	re            *regexp.Regexp
	samples       []string
}

// lintProfileRoutes checks each route of a ServiceProfile spec and returns the simple ones.
func lintProfileRoutes(spec map[string]any, add addFunc) []simpleRoute {
	seen := map[string]int{}
	var simple []simpleRoute
	for i, r := range list(spec, "routes") {
		rm, _ := r.(map[string]any)
		name := str(rm, "name")
		label := fmt.Sprintf("route %q", name)
		if name == "" {
			label = fmt.Sprintf("route #%d", i+1)
			add(label, "has no name: Linkerd's webhook rejects the profile")
		} else if seen[name]++; seen[name] == 2 {
			add(label, "the name is used twice: metrics and merges cannot tell the routes apart")
		}
		if t, ok := rm["timeout"]; ok {
			if s, isStr := t.(string); !isStr || !validDuration(s) {
				add(label, "timeout %v is not a duration such as 500ms or 10s: Linkerd's webhook rejects the profile", t)
			}
		}
		cond, hasCond := rm["condition"].(map[string]any)
		if !hasCond {
			add(label, "has no condition: Linkerd's webhook rejects the profile")
		} else {
			if _, isList := cond["not"].([]any); cond["not"] != nil && !isList {
				add(label, "condition.not is an object: the ServiceProfile CRD declares it as a list, so the API server rejects it; express the route without a top-level not")
			} else if cond["not"] != nil {
				add(label, "condition.not is a list as the CRD wants, but Linkerd reads it as an object and rejects the profile: express the route without a top-level not")
			}
			for _, msg := range requestMatchProblems(cond, "condition") {
				add(label, "%s", msg)
			}
			if method, expr, ok := simpleCondition(cond); ok {
				if re, err := regexp.Compile("^(?:" + expr + ")$"); err == nil {
					simple = append(simple, simpleRoute{label: label, method: method, re: re, samples: sampleN(expr, samplesPerCheck)})
				}
			}
		}
		for j, rc := range list(rm, "responseClasses") {
			rcm, _ := rc.(map[string]any)
			c, ok := rcm["condition"].(map[string]any)
			if !ok {
				add(label, "responseClasses[%d] has no condition: Linkerd's webhook rejects the profile", j)
				continue
			}
			for _, msg := range responseMatchProblems(c, fmt.Sprintf("responseClasses[%d].condition", j)) {
				add(label, "%s", msg)
			}
		}
	}
	return simple
}

// shadowedRoutes reports the routes whose every sampled request a route before them takes:
// they never match first.
func shadowedRoutes(simple []simpleRoute, add addFunc) {
	for j, b := range simple {
		for _, a := range simple[:j] {
			if (a.method != "" && a.method != b.method) || len(b.samples) == 0 {
				continue
			}
			shadowed := true
			for _, s := range b.samples {
				if !a.re.MatchString(s) {
					shadowed = false
					break
				}
			}
			if shadowed {
				add(b.label, "can never match first: %s, listed before it, matches its requests; move it above or narrow the earlier regex", a.label)
				break
			}
		}
	}
}

// lintRetryBudget checks a ServiceProfile's retryBudget, when it has one.
func lintRetryBudget(spec map[string]any, add addFunc) {
	rb, ok := spec["retryBudget"].(map[string]any)
	if !ok {
		return
	}
	if r, ok := rb["retryRatio"].(float64); ok && r < 0 {
		add("", "retryBudget.retryRatio %v is negative: Linkerd's webhook rejects the profile", r)
	}
	for _, k := range []string{"retryRatio", "minRetriesPerSecond", "ttl"} {
		if _, ok := rb[k]; !ok {
			add("", "retryBudget.%s is missing: the CRD requires retryRatio, minRetriesPerSecond and ttl", k)
		}
	}
	if t, ok := rb["ttl"]; ok {
		if s, isStr := t.(string); !isStr || !validDuration(s) {
			add("", "retryBudget.ttl %v is not a duration such as 10s: Linkerd's webhook rejects the profile", t)
		}
	}
}

func validDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}

// simpleCondition returns the method and regex of a condition made of pathRegex and method,
// directly or under all.
func simpleCondition(cond map[string]any) (method, expr string, ok bool) {
	fields := []map[string]any{cond}
	if all := list(cond, "all"); len(all) > 0 {
		for _, a := range all {
			m, isMap := a.(map[string]any)
			if !isMap {
				return "", "", false
			}
			fields = append(fields, m)
		}
	}
	for _, f := range fields {
		for k, v := range f {
			switch k {
			case "pathRegex":
				if expr != "" {
					return "", "", false
				}
				expr, _ = v.(string)
			case "method":
				method, _ = v.(string)
			case "all":
			default:
				return "", "", false
			}
		}
	}
	return method, expr, expr != ""
}

var requestMatchFields = []string{"all", "any", "not", "pathRegex", "method"}

func requestMatchProblems(m map[string]any, at string) []string {
	var out []string
	set := 0
	for _, k := range requestMatchFields {
		if _, ok := m[k]; ok {
			set++
		}
	}
	if set == 0 {
		return []string{at + " sets no field: Linkerd's webhook rejects a request match with nothing to match"}
	}
	if v, ok := m["pathRegex"]; ok {
		s, isStr := v.(string)
		if _, err := regexp.Compile(s); !isStr || err != nil {
			out = append(out, fmt.Sprintf("%s.pathRegex %v does not compile: %v", at, v, err))
		}
	}
	for _, k := range []string{"all", "any"} {
		for i, sub := range list(m, k) {
			if sm, ok := sub.(map[string]any); ok {
				out = append(out, requestMatchProblems(sm, fmt.Sprintf("%s.%s[%d]", at, k, i))...)
			}
		}
	}
	return out
}

func responseMatchProblems(m map[string]any, at string) []string {
	var out []string
	if len(m) == 0 {
		return []string{at + " sets no field: Linkerd's webhook rejects it"}
	}
	if st, ok := m["status"].(map[string]any); ok {
		lo, hasLo := num(st, "min")
		hi, hasHi := num(st, "max")
		for _, b := range []struct {
			set bool
			v   float64
			k   string
		}{{hasLo, lo, "min"}, {hasHi, hi, "max"}} {
			if b.set && (b.v < 100 || b.v > 599) {
				out = append(out, fmt.Sprintf("%s.status.%s %v is not an HTTP status (100-599): Linkerd's webhook rejects it", at, b.k, b.v))
			}
		}
		if hasLo && hasHi && lo > hi {
			out = append(out, fmt.Sprintf("%s.status min %v is above max %v: the range matches nothing", at, lo, hi))
		}
	}
	for _, k := range []string{"all", "any"} {
		for i, sub := range list(m, k) {
			if sm, ok := sub.(map[string]any); ok {
				out = append(out, responseMatchProblems(sm, fmt.Sprintf("%s.%s[%d]", at, k, i))...)
			}
		}
	}
	if sub, ok := m["not"].(map[string]any); ok {
		out = append(out, responseMatchProblems(sub, at+".not")...)
	}
	return out
}

// serviceParents lists "ns/name" of the Services a route attaches to.
func serviceParents(o lintObject) []string {
	var out []string
	for _, p := range list(mapOf(o.obj, "spec"), "parentRefs") {
		pm, _ := p.(map[string]any)
		g, k := str(pm, "group"), str(pm, "kind")
		if k != "Service" || (g != "" && g != "core") {
			continue
		}
		ns := str(pm, "namespace")
		if ns == "" {
			ns = o.namespace()
		}
		out = append(out, ns+"/"+str(pm, "name"))
	}
	return out
}

var retryHTTPValue = regexp.MustCompile(`^(?:5xx|gateway-error|[1-5][0-9][0-9](?:-[1-5][0-9][0-9])?)$`)

var retryGRPCValues = map[string]bool{"cancelled": true, "deadline-exceeded": true, "internal": true, "resource-exhausted": true, "unavailable": true}

func lintRoute(o lintObject) []Finding {
	var out []Finding
	add := func(route, format string, args ...any) {
		out = append(out, Finding{File: o.file, Object: o.describe(), Route: route, Message: fmt.Sprintf(format, args...)})
	}
	grpc := o.kind() == "GRPCRoute"
	ann := mapOf(mapOf(o.obj, "metadata"), "annotations")
	for _, k := range slices.Sorted(maps.Keys(ann)) {
		v := str(ann, k)
		switch {
		case strings.HasPrefix(k, "timeout.linkerd.io/") || k == "retry.linkerd.io/timeout":
			if !validDuration(v) {
				add("", "annotation %s: %q is not a duration such as 500ms or 10s", k, v)
			}
		case k == profiles.AnnotationRetryHTTP:
			if grpc {
				add("", "annotation %s is invalid on a GRPCRoute: use %s", k, profiles.AnnotationRetryGRPC)
				continue
			}
			for _, c := range strings.Split(v, ",") {
				if !retryHTTPValue.MatchString(strings.TrimSpace(c)) {
					add("", "annotation %s: %q is not 5xx, gateway-error, a status or a status range", k, c)
				}
			}
		case k == profiles.AnnotationRetryGRPC:
			for _, c := range strings.Split(v, ",") {
				if !retryGRPCValues[strings.TrimSpace(c)] {
					add("", "annotation %s: %q is not one of cancelled, deadline-exceeded, internal, resource-exhausted, unavailable", k, c)
				}
			}
		case k == "retry.linkerd.io/limit":
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				add("", "annotation %s: %q is not a whole number of retries", k, v)
			}
		}
	}
	if len(serviceParents(o)) == 0 {
		add("", "has no parentRef to a Service (group core, kind Service): Linkerd does not use it for mesh traffic")
	}
	for i, r := range list(mapOf(o.obj, "spec"), "rules") {
		rm, _ := r.(map[string]any)
		for j, m := range list(rm, "matches") {
			mm, _ := m.(map[string]any)
			label := fmt.Sprintf("rules[%d].matches[%d]", i, j)
			if grpc {
				if meth := mapOf(mm, "method"); str(meth, "type") == "RegularExpression" {
					add(label, "Linkerd rejects RegularExpression gRPC method matches: use Exact")
				}
				continue
			}
			path := mapOf(mm, "path")
			if str(path, "type") == "RegularExpression" {
				if _, err := regexp.Compile(str(path, "value")); err != nil {
					add(label, "path regex %q does not compile: %v", str(path, "value"), err)
				}
			}
		}
	}
	return out
}

// hasCatchAll tells whether some rule of the routes matches every request.
func hasCatchAll(routes []lintObject) bool {
	for _, o := range routes {
		for _, r := range list(mapOf(o.obj, "spec"), "rules") {
			rm, _ := r.(map[string]any)
			matches := list(rm, "matches")
			if len(matches) == 0 {
				return true
			}
			for _, m := range matches {
				mm, _ := m.(map[string]any)
				if o.kind() == "GRPCRoute" {
					if len(mm) == 0 {
						return true
					}
					continue
				}
				path := mapOf(mm, "path")
				pathAll := path == nil || (str(path, "type") == "PathPrefix" && strings.TrimSuffix(str(path, "value"), "/") == "")
				if pathAll && mm["method"] == nil && len(list(mm, "headers")) == 0 && len(list(mm, "queryParams")) == 0 {
					return true
				}
			}
		}
	}
	return false
}

// overlappingRules finds regex path matches of one Service's HTTPRoutes that match the same
// request with the same method: Linkerd then picks by creation time and name.
func overlappingRules(routes []lintObject) []Finding {
	type rx struct {
		o       lintObject
		label   string
		method  string
		prefix  string
		re      *regexp.Regexp
		samples []string
	}
	var all []rx
	for _, o := range routes {
		if o.kind() != "HTTPRoute" {
			continue
		}
		for i, r := range list(mapOf(o.obj, "spec"), "rules") {
			rm, _ := r.(map[string]any)
			for j, m := range list(rm, "matches") {
				mm, _ := m.(map[string]any)
				path := mapOf(mm, "path")
				if str(path, "type") != "RegularExpression" || len(list(mm, "headers"))+len(list(mm, "queryParams")) > 0 {
					continue
				}
				expr := str(path, "value")
				// Linkerd matches path regexes against the whole path.
				re, err := regexp.Compile("^(?:" + expr + ")$")
				if err != nil {
					continue
				}
				prefix := ""
				if unanchored, err := regexp.Compile(strings.TrimPrefix(expr, "^")); err == nil {
					prefix, _ = unanchored.LiteralPrefix()
				}
				all = append(all, rx{o, fmt.Sprintf("rules[%d].matches[%d]", i, j), str(mm, "method"), prefix, re, sampleN(expr, samplesPerCheck)})
			}
		}
	}
	var out []Finding
	for j, b := range all {
		for _, a := range all[:j] {
			// Two regexes can only share a request when one literal prefix extends the other.
			if a.method != b.method || !(strings.HasPrefix(a.prefix, b.prefix) || strings.HasPrefix(b.prefix, a.prefix)) {
				continue
			}
			if s, ok := firstMatching(b.samples, a.re); ok {
				out = append(out, overlapFinding(b.o, b.label, b.method, s, a.o, a.label))
				continue
			}
			if s, ok := firstMatching(a.samples, b.re); ok {
				out = append(out, overlapFinding(b.o, b.label, b.method, s, a.o, a.label))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

func overlapFinding(o lintObject, label, method, sample string, other lintObject, otherLabel string) Finding {
	return Finding{File: o.file, Object: o.describe(), Route: label, Message: fmt.Sprintf(
		"matches %s %s like %s %s does: Linkerd then picks by creation time and name; make the regexes disjoint", method, sample, other.describe(), otherLabel)}
}

func firstMatching(samples []string, re *regexp.Regexp) (string, bool) {
	for _, s := range samples {
		if re.MatchString(s) {
			return s, true
		}
	}
	return "", false
}

// sampleN draws n strings matched by expr (none when expr cannot be sampled).
func sampleN(expr string, n int) []string {
	rng := rand.New(rand.NewPCG(uint64(len(expr)), 7))
	out := make([]string, 0, n)
	for range n {
		s, err := regex.Sample(expr, rng)
		if err != nil {
			return nil
		}
		out = append(out, s)
	}
	return out
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func mapOf(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func list(m map[string]any, k string) []any {
	v, _ := m[k].([]any)
	return v
}

func num(m map[string]any, k string) (float64, bool) {
	v, ok := m[k].(float64)
	return v, ok
}
