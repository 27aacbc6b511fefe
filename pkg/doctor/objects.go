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

// steering finds Services whose traffic two controllers move: Flagger Canaries, Argo Rollouts,
// and weights set directly (TrafficSplits, profile dstOverrides, weighted HTTPRoutes).
func (r *Report) steering(ctx context.Context, w *world) error {
	by := map[string][]steerer{}
	if err := w.flagger(ctx, by); err != nil {
		return err
	}
	if err := w.argo(ctx, by); err != nil {
		return err
	}
	if err := w.weights(ctx, by); err != nil {
		return err
	}
	svcs := make([]string, 0, len(by))
	for s := range by {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	for _, svc := range svcs {
		ss := by[svc]
		ctrls := map[string]bool{}
		var names, fixes []string
		for _, s := range ss {
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

func (w *world) flagger(ctx context.Context, by map[string][]steerer) error {
	canaries, err := w.list(ctx, "flagger.app", "v1beta1", "canaries")
	if err != nil {
		return err
	}
	for _, c := range canaries {
		svc, _, _ := unstructured.NestedString(c.Object, "spec", "service", "name")
		if svc == "" {
			svc, _, _ = unstructured.NestedString(c.Object, "spec", "targetRef", "name")
		}
		key := c.GetNamespace() + "/" + svc
		by[key] = append(by[key], steerer{"Flagger", "Canary " + c.GetName(), fmt.Sprintf("kubectl -n %s delete canaries.flagger.app %s", c.GetNamespace(), c.GetName())})
	}
	return nil
}

func (w *world) argo(ctx context.Context, by map[string][]steerer) error {
	rollouts, err := w.list(ctx, "argoproj.io", "v1alpha1", "rollouts")
	if err != nil {
		return err
	}
	for _, ro := range rollouts {
		canary, _, _ := unstructured.NestedMap(ro.Object, "spec", "strategy", "canary")
		var svcs []string
		for _, k := range []string{"stableService", "canaryService"} {
			if s, ok := canary[k].(string); ok && s != "" {
				svcs = append(svcs, s)
			}
		}
		if root, _, _ := unstructured.NestedString(canary, "trafficRouting", "smi", "rootService"); root != "" {
			svcs = append(svcs, root)
		}
		for _, s := range svcs {
			key := ro.GetNamespace() + "/" + s
			by[key] = append(by[key], steerer{"Argo Rollouts", "Rollout " + ro.GetName(), fmt.Sprintf("kubectl -n %s delete rollouts.argoproj.io %s", ro.GetNamespace(), ro.GetName())})
		}
	}
	return nil
}

// weights records TrafficSplits and weighted routes that no canary controller wrote (objects
// with an owner reference belong to their Canary or Rollout).
func (w *world) weights(ctx context.Context, by map[string][]steerer) error {
	splits, err := w.list(ctx, "split.smi-spec.io", "v1alpha1", "trafficsplits")
	if err != nil {
		return err
	}
	for _, ts := range splits {
		if len(ts.GetOwnerReferences()) > 0 {
			continue // written by a canary controller
		}
		svc, _, _ := unstructured.NestedString(ts.Object, "spec", "service")
		key := ts.GetNamespace() + "/" + svc
		by[key] = append(by[key], steerer{"weights set by hand", "TrafficSplit " + ts.GetName(), fmt.Sprintf("trafficctl migrate -n %s --service %s --apply", ts.GetNamespace(), svc)})
	}
	routes, err := w.routes(ctx)
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if len(rt.GetOwnerReferences()) > 0 || !weighted(rt) {
			continue
		}
		for _, key := range parentServices(rt) {
			by[key] = append(by[key], steerer{"weights set by hand", rt.GetKind() + " " + rt.GetName(),
				fmt.Sprintf("kubectl -n %s delete %s %s", rt.GetNamespace(), strings.ToLower(rt.GetKind())+"s."+rt.GroupVersionKind().Group, rt.GetName())})
		}
	}
	return nil
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
