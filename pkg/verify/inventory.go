// Package verify checks that a namespace is secured the way the mesh promises: every pod has a
// Linkerd proxy, every Service port is covered by a Server with an authorization policy, routes
// keep a catch-all, no ServiceProfile silently overrides HTTPRoute policy, and (with Prometheus)
// every observed edge is mutually authenticated.
//
// The checks work on an Inventory of plain objects, so the same code checks a live namespace
// (trafficctl verify) and the rendered manifests in deploy/ (their tests).
package verify

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Workload is something that runs pods: a Pod itself, or the pod template of a Deployment,
// StatefulSet, DaemonSet or Job.
type Workload struct {
	Kind        string
	Name        string
	Labels      map[string]string
	Annotations map[string]string
	Spec        corev1.PodSpec
}

// String names the workload as findings do: Kind/name.
func (w Workload) String() string { return w.Kind + "/" + w.Name }

// Inventory is what the checks look at, all from one namespace.
type Inventory struct {
	Namespace string
	// Workloads are the pods (live) or pod templates (manifests).
	Workloads []Workload
	Services  []corev1.Service
	// Policy holds Servers, AuthorizationPolicies, ServerAuthorizations, HTTPRoutes (both API
	// groups), GRPCRoutes and ServiceProfiles.
	Policy []*unstructured.Unstructured
}

// Group names of the kinds the checks read.
const (
	GroupPolicy  = "policy.linkerd.io"
	GroupLinkerd = "linkerd.io"
	GroupGateway = "gateway.networking.k8s.io"
)

// NewInventory sorts objs into an Inventory for namespace ns; objects from other namespaces and
// kinds the checks do not read are ignored.
func NewInventory(ns string, objs []*unstructured.Unstructured) (*Inventory, error) {
	inv := &Inventory{Namespace: ns}
	for _, o := range objs {
		if o.GetNamespace() != ns {
			continue
		}
		gvk := o.GroupVersionKind()
		var err error
		switch {
		case gvk.Group == "" && gvk.Kind == "Service":
			var s corev1.Service
			if err = fromUnstructured(o, &s); err == nil {
				inv.Services = append(inv.Services, s)
			}
		case gvk.Group == "" && gvk.Kind == "Pod":
			var p corev1.Pod
			if err = fromUnstructured(o, &p); err == nil {
				inv.Workloads = append(inv.Workloads, Workload{Kind: "Pod", Name: p.Name, Labels: p.Labels, Annotations: p.Annotations, Spec: p.Spec})
			}
		case gvk.Group == "apps" && gvk.Kind == "Deployment":
			var d appsv1.Deployment
			if err = fromUnstructured(o, &d); err == nil {
				inv.Workloads = append(inv.Workloads, template("Deployment", d.Name, d.Spec.Template))
			}
		case gvk.Group == "apps" && gvk.Kind == "StatefulSet":
			var d appsv1.StatefulSet
			if err = fromUnstructured(o, &d); err == nil {
				inv.Workloads = append(inv.Workloads, template("StatefulSet", d.Name, d.Spec.Template))
			}
		case gvk.Group == "apps" && gvk.Kind == "DaemonSet":
			var d appsv1.DaemonSet
			if err = fromUnstructured(o, &d); err == nil {
				inv.Workloads = append(inv.Workloads, template("DaemonSet", d.Name, d.Spec.Template))
			}
		case gvk.Group == "batch" && gvk.Kind == "Job":
			var j batchv1.Job
			if err = fromUnstructured(o, &j); err == nil {
				inv.Workloads = append(inv.Workloads, template("Job", j.Name, j.Spec.Template))
			}
		case gvk.Group == GroupPolicy, gvk.Group == GroupLinkerd && gvk.Kind == "ServiceProfile",
			gvk.Group == GroupGateway && (gvk.Kind == "HTTPRoute" || gvk.Kind == "GRPCRoute"):
			inv.Policy = append(inv.Policy, o)
		}
		if err != nil {
			return nil, fmt.Errorf("decode %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
		}
	}
	sort.SliceStable(inv.Workloads, func(i, j int) bool { return inv.Workloads[i].String() < inv.Workloads[j].String() })
	return inv, nil
}

func template(kind, name string, t corev1.PodTemplateSpec) Workload {
	return Workload{Kind: kind, Name: name, Labels: t.Labels, Annotations: t.Annotations, Spec: t.Spec}
}

func fromUnstructured(o *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into)
}

// policyObjects returns the Policy objects of one group and kind.
func (inv *Inventory) policyObjects(group, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range inv.Policy {
		if gvk := o.GroupVersionKind(); gvk.Group == group && gvk.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}
