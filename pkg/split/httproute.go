package split

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// maxRules is the CRDs' limit on rules per HTTPRoute (both Gateway API and Linkerd).
const maxRules = 16

// httpRoutes is the machinery the Gateway API and Linkerd policy routers share: for what
// trafficctl touches (parentRefs, rules[].matches, rules[].backendRefs) both HTTPRoutes have the
// same shape. It works on unstructured objects so that an update writes back every field it
// does not know about exactly as it was read.
type httpRoutes struct {
	kind    Kind
	clients *kube.Clients
	gvr     schema.GroupVersionResource
	gvk     schema.GroupVersionKind
}

func newHTTPRoutes(kind Kind, c *kube.Clients, group, version string) *httpRoutes {
	return &httpRoutes{
		kind:    kind,
		clients: c,
		gvr:     schema.GroupVersionResource{Group: group, Version: version, Resource: "httproutes"},
		gvk:     schema.GroupVersionKind{Group: group, Version: version, Kind: "HTTPRoute"},
	}
}

func (h *httpRoutes) Kind() Kind { return h.kind }

func (h *httpRoutes) describe(ns, name string) string {
	return fmt.Sprintf("HTTPRoute.%s %s/%s", h.gvr.Group, ns, name)
}

func (h *httpRoutes) resource(ns string) dynamic.ResourceInterface {
	return h.clients.Dynamic.Resource(h.gvr).Namespace(ns)
}

// list returns the HTTPRoutes in ns with a parentRef to the apex Service, sorted by name.
func (h *httpRoutes) list(ctx context.Context, ns, apex string) ([]*unstructured.Unstructured, error) {
	l, err := h.resource(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list HTTPRoutes.%s in %s: %w", h.gvr.Group, ns, err)
	}
	var out []*unstructured.Unstructured
	for i := range l.Items {
		if _, _, ok := attachment(&l.Items[i], ns, apex); ok {
			out = append(out, &l.Items[i])
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

// attachment reports whether route has a parentRef to Service ns/apex, and on which ports
// (allPorts when a parentRef names no port).
func attachment(route *unstructured.Unstructured, ns, apex string) (ports []int64, allPorts, ok bool) {
	refs, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		group, _ := ref["group"].(string)
		kind, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		refNS, _ := ref["namespace"].(string)
		if kind != "Service" || (group != "" && group != "core") || name != apex || (refNS != "" && refNS != ns) {
			continue
		}
		ok = true
		if p, has := toInt64(ref["port"]); has {
			ports = append(ports, p)
		} else {
			allPorts = true
		}
	}
	return ports, allPorts, ok
}

// Get reports the weights on every rule of every HTTPRoute attached to apex.
func (h *httpRoutes) Get(ctx context.Context, ns, apex string) (*Split, error) {
	apexSvc, err := ApexService(ctx, h.clients.Kube, ns, apex)
	if err != nil {
		return nil, err
	}
	routes, err := h.list(ctx, ns, apex)
	if err != nil {
		return nil, err
	}
	if len(routes) == 0 {
		return nil, fmt.Errorf("%w: no HTTPRoute.%s attaches to Service %s/%s", ErrNotFound, h.gvr.Group, ns, apex)
	}
	s := &Split{Router: h.kind, Namespace: ns, Apex: apex, Uniform: true}
	first := true
	for _, route := range routes {
		header := kube.Value(route.GetAnnotations(), kube.AnnotationSplitHeader)
		for i, rule := range rules(route) {
			rs := RuleSplit{Object: h.describe(ns, route.GetName()), Rule: i, Match: matchString(rule), Backends: ruleBackends(rule)}
			if hm, ok := headerRule(rule, header); ok {
				rs.Header = &hm
			} else if first {
				s.Backends, first = rs.Backends, false
			} else if !slices.Equal(s.Backends, rs.Backends) {
				s.Uniform = false
			}
			s.Rules = append(s.Rules, rs)
		}
	}
	if ports := uncoveredPorts(routes, apexSvc); len(ports) > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("no catch-all rule covers port(s) %v of %s: Linkerd answers 404 to requests no rule matches (`split set` adds one)", ports, apex))
	}
	return s, nil
}

// SetWeights puts the weighted backendRefs on every rule (except A/B header rules) of every
// HTTPRoute attached to apex, and creates a catch-all route for any apex port that no
// route's catch-all rule covers, so that no request bypasses the split.
func (h *httpRoutes) SetWeights(ctx context.Context, ns, apex string, bs []Backend, opts SetOptions) (*Result, error) {
	apexSvc, err := ValidateBackends(ctx, h.clients.Kube, ns, apex, bs)
	if err != nil {
		return nil, err
	}
	edit := func(route *unstructured.Unstructured) error {
		port, err := backendPort(route, apexSvc, h.describe(ns, route.GetName()))
		if err != nil {
			return err
		}
		header := kube.Value(route.GetAnnotations(), kube.AnnotationSplitHeader)
		rs := rules(route)
		for _, rule := range rs {
			if _, ok := headerRule(rule, header); !ok {
				rule["backendRefs"] = mergeRefs(rule["backendRefs"], bs, port)
			}
		}
		return setRules(route, rs)
	}
	return h.write(ctx, ns, apexSvc, opts, true, edit)
}

// SetHeaderRoute adds, after every weighted rule of every HTTPRoute attached to apex, a twin
// rule with the same matches plus the header, sending to backend to. Twins are needed because
// Linkerd ranks rules by path match length before headers: one header rule on "/" would lose
// to a longer path rule. Twins of an earlier header are replaced.
func (h *httpRoutes) SetHeaderRoute(ctx context.Context, ns, apex string, match HeaderMatch, to string, opts SetOptions) (*Result, error) {
	apexSvc, err := ValidateBackends(ctx, h.clients.Kube, ns, apex, []Backend{{Service: to, Weight: 1}})
	if err != nil {
		return nil, err
	}
	edit := func(route *unstructured.Unstructured) error {
		desc := h.describe(ns, route.GetName())
		port, err := backendPort(route, apexSvc, desc)
		if err != nil {
			return err
		}
		old := kube.Value(route.GetAnnotations(), kube.AnnotationSplitHeader)
		var out []map[string]any
		for _, rule := range rules(route) {
			if _, ok := headerRule(rule, old); ok {
				continue
			}
			out = append(out, rule, twinRule(rule, match, to, port))
		}
		if len(out) > maxRules {
			return fmt.Errorf("%w: %s would need %d rules with the header rules, over the limit of %d: split its routes over more HTTPRoutes", ErrInvalid, desc, len(out), maxRules)
		}
		route.SetAnnotations(kube.Set(route.GetAnnotations(), kube.AnnotationSplitHeader, match.Name))
		return setRules(route, out)
	}
	return h.write(ctx, ns, apexSvc, opts, true, edit)
}

// ClearHeaderRoute removes the A/B twins SetHeaderRoute added, and its annotation.
func (h *httpRoutes) ClearHeaderRoute(ctx context.Context, ns, apex string, opts SetOptions) (*Result, error) {
	apexSvc, err := ApexService(ctx, h.clients.Kube, ns, apex)
	if err != nil {
		return nil, err
	}
	edit := func(route *unstructured.Unstructured) error {
		ann := route.GetAnnotations()
		header, ok := kube.Get(ann, kube.AnnotationSplitHeader)
		if !ok {
			return nil
		}
		kept := slices.DeleteFunc(rules(route), func(r map[string]any) bool {
			_, isHeader := headerRule(r, header)
			return isHeader
		})
		kube.Delete(ann, kube.AnnotationSplitHeader)
		route.SetAnnotations(ann)
		return setRules(route, kept)
	}
	return h.write(ctx, ns, apexSvc, opts, false, edit)
}

var serviceProfiles = schema.GroupVersionResource{Group: kube.GroupLinkerd, Version: "v1alpha2", Resource: "serviceprofiles"}

// profileWarnings warns about ServiceProfiles of the apex with routes or dstOverrides: while
// one exists, Linkerd ignores the HTTPRoutes of that Service, so the split would have no
// effect. A cluster without ServiceProfiles (or an error listing them) gives no warning.
func (h *httpRoutes) profileWarnings(ctx context.Context, apexSvc *corev1.Service) []string {
	l, err := h.clients.Dynamic.Resource(serviceProfiles).Namespace(apexSvc.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	prefix := apexSvc.Name + "." + apexSvc.Namespace + ".svc."
	for _, sp := range l.Items {
		if !strings.HasPrefix(sp.GetName(), prefix) {
			continue
		}
		routes, _, _ := unstructured.NestedSlice(sp.Object, "spec", "routes")
		overrides, _, _ := unstructured.NestedSlice(sp.Object, "spec", "dstOverrides")
		if len(routes) > 0 || len(overrides) > 0 {
			out = append(out, fmt.Sprintf("ServiceProfile %s/%s has routes or dstOverrides, so Linkerd ignores HTTPRoutes for Service %s: remove them (or the ServiceProfile) for this split to take effect", sp.GetNamespace(), sp.GetName(), apexSvc.Name))
		}
	}
	return out
}

// routeWrite is one planned create or update.
type routeWrite struct {
	orig *unstructured.Unstructured // as read; nil for a route to create
	next *unstructured.Unstructured
}

// write runs edit on every HTTPRoute attached to the apex (and, with createCatchAll, on new
// catch-all routes for uncovered ports), then writes the routes that changed. Before any real write, every write is
// sent once with dryRun=All so that one the server refuses stops the command before anything
// changed. Updates carry the resourceVersion that was read; on a conflict the route is re-read
// and, unless its weights changed meanwhile (see weightsMoved), edited again, keeping the other
// writer's changes. When a later write fails, earlier ones are rolled back.
func (h *httpRoutes) write(ctx context.Context, ns string, apexSvc *corev1.Service, opts SetOptions, createCatchAll bool, edit func(*unstructured.Unstructured) error) (*Result, error) {
	routes, err := h.list(ctx, ns, apexSvc.Name)
	if err != nil {
		return nil, err
	}
	var writes []routeWrite
	for _, route := range routes {
		next := route.DeepCopy()
		if err := edit(next); err != nil {
			return nil, err
		}
		if !equality.Semantic.DeepEqual(route.Object, next.Object) {
			writes = append(writes, routeWrite{orig: route, next: next})
		}
	}
	if createCatchAll {
		for _, port := range uncoveredPorts(routes, apexSvc) {
			route := h.catchAllRoute(apexSvc, port)
			if err := edit(route); err != nil {
				return nil, err
			}
			writes = append(writes, routeWrite{next: route})
		}
	}
	res := &Result{Router: h.kind, DryRun: opts.DryRun, Warnings: h.profileWarnings(ctx, apexSvc)}
	if opts.DryRun == kube.DryRunClient || len(writes) == 0 {
		res.Changes = h.changes(writes)
		return res, nil
	}
	dryRunAll := []string{metav1.DryRunAll}
	for i, w := range writes {
		_, err := h.send(ctx, w, dryRunAll)
		if apierrors.IsConflict(err) && w.orig != nil {
			// Written since we read it: decide now, as the real write would.
			writes[i], _, err = h.retry(ctx, w, opts.Force, edit, dryRunAll)
		}
		if err != nil {
			return nil, err
		}
	}
	if opts.DryRun == kube.DryRunServer {
		res.Changes = h.changes(writes)
		return res, nil
	}
	var done []routeWrite
	for _, w := range writes {
		out, err := h.send(ctx, w, nil)
		if apierrors.IsConflict(err) && w.orig != nil {
			w, out, err = h.retry(ctx, w, opts.Force, edit, nil)
		}
		if err != nil {
			return nil, h.rollback(ctx, done, err)
		}
		w.next = out
		done = append(done, w)
	}
	res.Changes = h.changes(done)
	return res, nil
}

// retry re-reads a route whose update conflicted and applies edit again, unless its weights
// moved since the first read and force is off. dryRun is passed on to the update.
func (h *httpRoutes) retry(ctx context.Context, w routeWrite, force bool, edit func(*unstructured.Unstructured) error, dryRun []string) (routeWrite, *unstructured.Unstructured, error) {
	desc := h.describe(w.orig.GetNamespace(), w.orig.GetName())
	var out *unstructured.Unstructured
	err := retry.RetryOnConflict(conflictBackoff, func() error {
		fresh, err := h.resource(w.orig.GetNamespace()).Get(ctx, w.orig.GetName(), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("re-read %s after a conflict: %w", desc, err)
		}
		if moved := weightsMoved(w.orig, fresh, desc); moved != nil && !force {
			return moved
		}
		next := fresh.DeepCopy()
		if err := edit(next); err != nil {
			return err
		}
		w = routeWrite{orig: fresh, next: next}
		if equality.Semantic.DeepEqual(fresh.Object, next.Object) {
			out = fresh
			return nil
		}
		out, err = h.send(ctx, w, dryRun)
		return err
	})
	if err != nil {
		return w, nil, stillConflicting(desc, err)
	}
	return w, out, nil
}

// send creates or updates one route with trafficctl's field manager and strict validation.
func (h *httpRoutes) send(ctx context.Context, w routeWrite, dryRun []string) (*unstructured.Unstructured, error) {
	ri := h.resource(w.next.GetNamespace())
	desc := h.describe(w.next.GetNamespace(), w.next.GetName())
	if w.orig == nil {
		out, err := ri.Create(ctx, w.next, metav1.CreateOptions{FieldManager: kube.FieldManager, FieldValidation: metav1.FieldValidationStrict, DryRun: dryRun})
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", desc, err)
		}
		return out, nil
	}
	out, err := ri.Update(ctx, w.next, metav1.UpdateOptions{FieldManager: kube.FieldManager, FieldValidation: metav1.FieldValidationStrict, DryRun: dryRun})
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", desc, err)
	}
	return out, nil
}

// rollback undoes the writes already made when a later one failed, so that a failed command
// leaves the split as it found it. It returns cause, extended with any route it could not
// restore.
func (h *httpRoutes) rollback(ctx context.Context, done []routeWrite, cause error) error {
	var failed []string
	for i := len(done) - 1; i >= 0; i-- {
		w := done[i]
		ri := h.resource(w.next.GetNamespace())
		desc := h.describe(w.next.GetNamespace(), w.next.GetName())
		var err error
		if w.orig == nil {
			uid, rv := w.next.GetUID(), w.next.GetResourceVersion()
			err = ri.Delete(ctx, w.next.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		} else {
			var cur *unstructured.Unstructured
			if cur, err = ri.Get(ctx, w.next.GetName(), metav1.GetOptions{}); err == nil {
				origRules, _, _ := unstructured.NestedFieldCopy(w.orig.Object, "spec", "rules")
				_ = unstructured.SetNestedField(cur.Object, origRules, "spec", "rules")
				ann := cur.GetAnnotations()
				if v, ok := kube.Get(w.orig.GetAnnotations(), kube.AnnotationSplitHeader); ok {
					ann = kube.Set(ann, kube.AnnotationSplitHeader, v)
				} else {
					kube.Delete(ann, kube.AnnotationSplitHeader)
				}
				cur.SetAnnotations(ann)
				_, err = ri.Update(ctx, cur, metav1.UpdateOptions{FieldManager: kube.FieldManager})
			}
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", desc, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w; rolling back also failed for %s: check them with `trafficctl split get`", cause, strings.Join(failed, ", "))
	}
	return cause
}

// changes lists, rule by rule, what the writes change.
func (h *httpRoutes) changes(writes []routeWrite) []Change {
	var out []Change
	for _, w := range writes {
		desc := h.describe(w.next.GetNamespace(), w.next.GetName())
		var before map[string][]Backend
		if w.orig != nil {
			before = ruleWeights(w.orig)
		}
		for i, rule := range rules(w.next) {
			c := Change{Object: desc, Rule: i, Match: matchString(rule), After: ruleBackends(rule), Created: w.orig == nil}
			prev, ok := before[matchKey(rule)]
			if w.orig != nil && ok && slices.Equal(prev, c.After) {
				continue
			}
			if !ok && w.orig != nil {
				// A new rule (an A/B twin): before, its requests followed the rule it copies.
				prev = before[matchKey(baseRule(rule, kube.Value(w.next.GetAnnotations(), kube.AnnotationSplitHeader)))]
			}
			c.Before = prev
			out = append(out, c)
		}
		if w.orig == nil {
			continue
		}
		after := ruleWeights(w.next)
		for i, rule := range rules(w.orig) {
			if _, kept := after[matchKey(rule)]; !kept {
				out = append(out, Change{Object: desc, Rule: i, Match: matchString(rule), Removed: true, Before: ruleBackends(rule)})
			}
		}
	}
	return out
}

// weightsMoved compares the weights of the rules present in both versions of a route (matched
// by their matches) and returns the first difference, or nil. Rules added or removed by the
// other writer do not count: the edit covers them.
func weightsMoved(read, now *unstructured.Unstructured, desc string) error {
	was := ruleWeights(read)
	for i, rule := range rules(now) {
		if prev, ok := was[matchKey(rule)]; ok && !slices.Equal(prev, ruleBackends(rule)) {
			return &WeightsChangedError{Object: desc, Rule: i, Read: prev, Now: ruleBackends(rule)}
		}
	}
	return nil
}

// ruleWeights maps each rule's matches to its backends.
func ruleWeights(route *unstructured.Unstructured) map[string][]Backend {
	out := map[string][]Backend{}
	for _, rule := range rules(route) {
		out[matchKey(rule)] = ruleBackends(rule)
	}
	return out
}

// catchAllRoute builds the route created when no catch-all rule covers port of the apex:
// one PathPrefix / rule, parentRef to the Service on that port.
func (h *httpRoutes) catchAllRoute(apexSvc *corev1.Service, port int64) *unstructured.Unstructured {
	name := apexSvc.Name + "-split"
	if len(apexSvc.Spec.Ports) > 1 {
		name += "-" + strconv.FormatInt(port, 10)
	}
	route := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"group": "core", "kind": "Service", "name": apexSvc.Name, "port": port}},
			"rules": []any{map[string]any{
				"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
			}},
		},
	}}
	route.SetGroupVersionKind(h.gvk)
	route.SetNamespace(apexSvc.Namespace)
	route.SetName(name)
	route.SetLabels(map[string]string{kube.LabelManagedBy: kube.ManagedBy})
	return route
}

// uncoveredPorts lists the apex ports that no catch-all rule of an attached route covers.
func uncoveredPorts(routes []*unstructured.Unstructured, apexSvc *corev1.Service) []int64 {
	covered := map[int64]bool{}
	for _, route := range routes {
		header := kube.Value(route.GetAnnotations(), kube.AnnotationSplitHeader)
		if !slices.ContainsFunc(rules(route), func(r map[string]any) bool {
			_, isHeader := headerRule(r, header)
			return !isHeader && catchAll(r)
		}) {
			continue
		}
		ports, all, _ := attachment(route, apexSvc.Namespace, apexSvc.Name)
		if all {
			return nil
		}
		for _, p := range ports {
			covered[p] = true
		}
	}
	var out []int64
	for _, p := range apexSvc.Spec.Ports {
		if !covered[int64(p.Port)] {
			out = append(out, int64(p.Port))
		}
	}
	return out
}

// catchAll reports whether a rule matches every request: no matches (the API's default is
// PathPrefix /), or a match on PathPrefix / with no other condition.
func catchAll(rule map[string]any) bool {
	matches, _ := rule["matches"].([]any)
	if len(matches) == 0 {
		return true
	}
	for _, m := range matches {
		mm, _ := m.(map[string]any)
		if mm["headers"] != nil || mm["queryParams"] != nil || mm["method"] != nil {
			continue
		}
		path, _ := mm["path"].(map[string]any)
		typ, _ := path["type"].(string)
		val, _ := path["value"].(string)
		if (typ == "" || typ == "PathPrefix") && (val == "" || val == "/") {
			return true
		}
	}
	return false
}

// backendPort is the port new backendRefs of route get: the port its parentRef names, or
// the apex's only port. A route attached to every port of a multi-port apex is refused: one
// backendRef port cannot serve all of them.
func backendPort(route *unstructured.Unstructured, apexSvc *corev1.Service, desc string) (int64, error) {
	ports, all, _ := attachment(route, apexSvc.Namespace, apexSvc.Name)
	slices.Sort(ports)
	ports = slices.Compact(ports)
	switch {
	case !all && len(ports) == 1:
		return ports[0], nil
	case len(ports) == 0 && len(apexSvc.Spec.Ports) == 1:
		return int64(apexSvc.Spec.Ports[0].Port), nil
	}
	return 0, fmt.Errorf("%w: %s attaches to several ports of Service %s/%s, but its backendRefs can name only one: use one HTTPRoute per port (set parentRefs[].port)", ErrInvalid, desc, apexSvc.Namespace, apexSvc.Name)
}

// rules returns the route's rules as maps (which alias the route's object).
func rules(route *unstructured.Unstructured) []map[string]any {
	raw, _, _ := unstructured.NestedFieldNoCopy(route.Object, "spec", "rules")
	list, _ := raw.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, r := range list {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func setRules(route *unstructured.Unstructured, rs []map[string]any) error {
	list := make([]any, len(rs))
	for i, r := range rs {
		list[i] = r
	}
	return unstructured.SetNestedField(route.Object, list, "spec", "rules")
}

// ruleBackends reads a rule's backendRefs; the API's default weight is 1.
func ruleBackends(rule map[string]any) []Backend {
	refs, _ := rule["backendRefs"].([]any)
	var out []Backend
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		name, _ := ref["name"].(string)
		w, ok := toInt64(ref["weight"])
		if !ok {
			w = 1
		}
		out = append(out, Backend{Service: name, Weight: w})
	}
	return out
}

// mergeRefs returns the backendRefs for bs: a ref already naming the Service keeps its other
// fields (port, filters) and gets the new weight; new ones get port.
func mergeRefs(existing any, bs []Backend, port int64) []any {
	old, _ := existing.([]any)
	out := make([]any, 0, len(bs))
	for _, b := range bs {
		ref := map[string]any{"name": b.Service, "port": port}
		for _, r := range old {
			if m, ok := r.(map[string]any); ok && m["name"] == b.Service && isServiceRef(m) {
				ref = runtime.DeepCopyJSONValue(m).(map[string]any)
				break
			}
		}
		ref["weight"] = b.Weight
		out = append(out, ref)
	}
	return out
}

func isServiceRef(ref map[string]any) bool {
	group, _ := ref["group"].(string)
	kind, _ := ref["kind"].(string)
	return (group == "" || group == "core") && (kind == "" || kind == "Service")
}

// headerRule reports whether rule is an A/B rule for header: every match tests it.
func headerRule(rule map[string]any, header string) (HeaderMatch, bool) {
	matches, _ := rule["matches"].([]any)
	if header == "" || len(matches) == 0 {
		return HeaderMatch{}, false
	}
	var hm HeaderMatch
	for _, m := range matches {
		mm, _ := m.(map[string]any)
		found := false
		hs, _ := mm["headers"].([]any)
		for _, h := range hs {
			hh, _ := h.(map[string]any)
			if name, _ := hh["name"].(string); strings.EqualFold(name, header) {
				value, _ := hh["value"].(string)
				hm, found = HeaderMatch{Name: strings.ToLower(name), Value: value}, true
			}
		}
		if !found {
			return HeaderMatch{}, false
		}
	}
	return hm, true
}

// twinRule copies rule, adds the header to each of its matches and sends it to backend to.
func twinRule(rule map[string]any, match HeaderMatch, to string, port int64) map[string]any {
	twin := runtime.DeepCopyJSONValue(rule).(map[string]any)
	delete(twin, "name") // rule names must be unique within a route
	matches, _ := twin["matches"].([]any)
	if len(matches) == 0 {
		matches = []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}}
	}
	for _, m := range matches {
		mm, _ := m.(map[string]any)
		hs, _ := mm["headers"].([]any)
		mm["headers"] = append(withoutHeader(hs, match.Name), map[string]any{"type": "Exact", "name": match.Name, "value": match.Value})
	}
	twin["matches"] = matches
	twin["backendRefs"] = mergeRefs(rule["backendRefs"], []Backend{{Service: to, Weight: 1}}, port)
	return twin
}

// withoutHeader drops the header matches on name (header names are case-insensitive).
func withoutHeader(hs []any, name string) []any {
	return slices.DeleteFunc(hs, func(h any) bool {
		hh, _ := h.(map[string]any)
		n, _ := hh["name"].(string)
		return strings.EqualFold(n, name)
	})
}

// baseRule is the rule an A/B twin was copied from: the same matches without the header.
func baseRule(twin map[string]any, header string) map[string]any {
	base := runtime.DeepCopyJSONValue(twin).(map[string]any)
	matches, _ := base["matches"].([]any)
	for _, m := range matches {
		mm, _ := m.(map[string]any)
		hs, _ := mm["headers"].([]any)
		hs = withoutHeader(hs, header)
		if len(hs) == 0 {
			delete(mm, "headers")
		} else {
			mm["headers"] = hs
		}
	}
	return base
}

// matchKey identifies a rule by its matches, so that a rule can be found again in a route
// another writer changed.
func matchKey(rule map[string]any) string {
	if catchAll(rule) {
		if matches, _ := rule["matches"].([]any); len(matches) <= 1 {
			return "catch-all"
		}
	}
	b, _ := json.Marshal(rule["matches"])
	return string(b)
}

// matchString describes a rule's matches for people: "PathPrefix /api, header x-canary=true".
func matchString(rule map[string]any) string {
	matches, _ := rule["matches"].([]any)
	if len(matches) == 0 {
		return "PathPrefix /"
	}
	var alts []string
	for _, m := range matches {
		mm, _ := m.(map[string]any)
		var parts []string
		if path, ok := mm["path"].(map[string]any); ok {
			typ, _ := path["type"].(string)
			val, _ := path["value"].(string)
			parts = append(parts, cmp.Or(typ, "PathPrefix")+" "+cmp.Or(val, "/"))
		}
		if method, ok := mm["method"].(string); ok {
			parts = append(parts, method)
		}
		hs, _ := mm["headers"].([]any)
		for _, h := range hs {
			hh, _ := h.(map[string]any)
			parts = append(parts, fmt.Sprintf("header %v=%v", hh["name"], hh["value"]))
		}
		qs, _ := mm["queryParams"].([]any)
		for _, q := range qs {
			qq, _ := q.(map[string]any)
			parts = append(parts, fmt.Sprintf("query %v=%v", qq["name"], qq["value"]))
		}
		if len(parts) == 0 {
			parts = []string{"PathPrefix /"}
		}
		alts = append(alts, strings.Join(parts, ", "))
	}
	return strings.Join(alts, " | ")
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
