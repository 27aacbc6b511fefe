package doctor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// world lists the cluster's objects of a kind, once each, skipping kinds whose CRD is absent.
type world struct {
	c    *kube.Clients
	ns   string
	crds []unstructured.Unstructured
}

func (w *world) list(ctx context.Context, group, version, resource string) ([]unstructured.Unstructured, error) {
	if !slices.ContainsFunc(w.crds, func(u unstructured.Unstructured) bool { return u.GetName() == resource+"."+group }) {
		return nil, nil
	}
	gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
	l, err := w.c.Dynamic.Resource(gvr).Namespace(w.ns).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
	}
	return l.Items, nil
}

// routes lists the HTTPRoutes (both groups) and GRPCRoutes.
func (w *world) routes(ctx context.Context) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	for _, k := range [][3]string{{"gateway.networking.k8s.io", "v1", "httproutes"}, {"policy.linkerd.io", "v1beta3", "httproutes"}, {"gateway.networking.k8s.io", "v1", "grpcroutes"}} {
		l, err := w.list(ctx, k[0], k[1], k[2])
		if err != nil {
			return nil, err
		}
		out = append(out, l...)
	}
	return out, nil
}

// parentServices are the Services a route attaches to, as "ns/name".
func parentServices(route unstructured.Unstructured) []string {
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	var out []string
	for _, p := range parents {
		pm, _ := p.(map[string]any)
		if pm["kind"] != "Service" {
			continue
		}
		ns, _ := pm["namespace"].(string)
		if ns == "" {
			ns = route.GetNamespace()
		}
		out = append(out, fmt.Sprintf("%s/%v", ns, pm["name"]))
	}
	return out
}

func profileService(sp unstructured.Unstructured) string {
	return sp.GetNamespace() + "/" + strings.Split(sp.GetName(), ".")[0]
}

// profiles finds ServiceProfiles with routes or dstOverrides next to routes attached to the same
// Service: the profile wins and the routes' retries, timeouts and weights are ignored.
func (r *Report) profiles(ctx context.Context, w *world) error {
	sps, err := w.list(ctx, "linkerd.io", "v1alpha2", "serviceprofiles")
	if err != nil || len(sps) == 0 {
		return err
	}
	routes, err := w.routes(ctx)
	if err != nil {
		return err
	}
	attached := map[string][]string{}
	for _, rt := range routes {
		for _, svc := range parentServices(rt) {
			attached[svc] = append(attached[svc], rt.GetKind()+"/"+rt.GetName())
		}
	}
	for _, sp := range sps {
		spec, _ := sp.Object["spec"].(map[string]any)
		if len(asSlice(spec["routes"])) == 0 && len(asSlice(spec["dstOverrides"])) == 0 {
			continue
		}
		svc := profileService(sp)
		if rs := attached[svc]; len(rs) > 0 {
			ns, name, _ := strings.Cut(svc, "/")
			r.add(SeverityError, CheckProfile, "ServiceProfile "+sp.GetNamespace()+"/"+sp.GetName(),
				fmt.Sprintf("trafficctl migrate -n %s --service %s --apply", ns, name),
				"overrides %s attached to Service %s: their retries, timeouts and weights are ignored (linkerd2#14274)", strings.Join(rs, ", "), svc)
		}
	}
	return nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// steerer is one controller that moves a Service's traffic.
type steerer struct {
	controller string // "Flagger", "Argo Rollouts", "TrafficSplit/HTTPRoute weights"
	object     string
	delete     string // the command that removes it
}

// steerSource is a kind of object that moves Services' traffic.
type steerSource struct {
	group, version, resource, controller string
	// services are the Services ("ns/name") an object steers.
	services func(u unstructured.Unstructured) []string
}

// steerSources: Flagger Canaries, Argo Rollouts, and weights set directly (TrafficSplits and
// weighted routes that no canary controller wrote: those carry an owner reference).
var steerSources = []steerSource{
	{"flagger.app", "v1beta1", "canaries", "Flagger", canaryServices},
	{"argoproj.io", "v1alpha1", "rollouts", "Argo Rollouts", rolloutServices},
	{"split.smi-spec.io", "v1alpha1", "trafficsplits", "weights set by hand", splitServices},
	{"gateway.networking.k8s.io", "v1", "httproutes", "weights set by hand", weightedRouteServices},
	{"policy.linkerd.io", "v1beta3", "httproutes", "weights set by hand", weightedRouteServices},
	{"gateway.networking.k8s.io", "v1", "grpcroutes", "weights set by hand", weightedRouteServices},
}

// steering finds Services whose traffic two controllers move.
func (r *Report) steering(ctx context.Context, w *world) error {
	by := map[string][]steerer{}
	for _, src := range steerSources {
		objs, err := w.list(ctx, src.group, src.version, src.resource)
		if err != nil {
			return err
		}
		for _, u := range objs {
			for _, key := range src.services(u) {
				fix := fmt.Sprintf("kubectl -n %s delete %s.%s %s", u.GetNamespace(), src.resource, src.group, u.GetName())
				if src.resource == "trafficsplits" {
					fix = fmt.Sprintf("trafficctl migrate -n %s --service %s --apply", u.GetNamespace(), strings.SplitN(key, "/", 2)[1])
				}
				by[key] = append(by[key], steerer{src.controller, u.GetKind() + " " + u.GetName(), fix})
			}
		}
	}
	svcs := make([]string, 0, len(by))
	for s := range by {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	for _, svc := range svcs {
		ctrls := map[string]bool{}
		var names, fixes []string
		for _, s := range by[svc] {
			ctrls[s.controller] = true
			names = append(names, s.object+" ("+s.controller+")")
			fixes = append(fixes, s.delete)
		}
		if len(ctrls) > 1 {
			r.add(SeverityError, CheckSteering, "Service "+svc, "keep one; for example: "+strings.Join(fixes, "  or  "),
				"%d controllers set its traffic weights and undo each other: %s", len(ctrls), strings.Join(names, ", "))
		}
	}
	return nil
}

func canaryServices(c unstructured.Unstructured) []string {
	svc, _, _ := unstructured.NestedString(c.Object, "spec", "service", "name")
	if svc == "" {
		svc, _, _ = unstructured.NestedString(c.Object, "spec", "targetRef", "name")
	}
	return []string{c.GetNamespace() + "/" + svc}
}

func rolloutServices(ro unstructured.Unstructured) []string {
	canary, _, _ := unstructured.NestedMap(ro.Object, "spec", "strategy", "canary")
	root, _, _ := unstructured.NestedString(canary, "trafficRouting", "smi", "rootService")
	var out []string
	for _, s := range []any{canary["stableService"], canary["canaryService"], root} {
		if name, ok := s.(string); ok && name != "" {
			out = append(out, ro.GetNamespace()+"/"+name)
		}
	}
	return out
}

func splitServices(ts unstructured.Unstructured) []string {
	svc, _, _ := unstructured.NestedString(ts.Object, "spec", "service")
	if len(ts.GetOwnerReferences()) > 0 || svc == "" {
		return nil // written by a canary controller
	}
	return []string{ts.GetNamespace() + "/" + svc}
}

func weightedRouteServices(rt unstructured.Unstructured) []string {
	if len(rt.GetOwnerReferences()) > 0 || !weighted(rt) {
		return nil
	}
	return parentServices(rt)
}

// weighted tells whether a rule of the route splits between backends.
func weighted(rt unstructured.Unstructured) bool {
	rules, _, _ := unstructured.NestedSlice(rt.Object, "spec", "rules")
	for _, rule := range rules {
		rm, _ := rule.(map[string]any)
		if len(asSlice(rm["backendRefs"])) > 1 {
			return true
		}
	}
	return false
}
