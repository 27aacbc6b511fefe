package verify

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// policyKinds are the kinds Collect reads besides Pods and Services, by group.
var policyKinds = []schema.GroupKind{
	{Group: GroupPolicy, Kind: "Server"},
	{Group: GroupPolicy, Kind: "AuthorizationPolicy"},
	{Group: GroupPolicy, Kind: "ServerAuthorization"},
	{Group: GroupPolicy, Kind: "HTTPRoute"},
	{Group: GroupGateway, Kind: "HTTPRoute"},
	{Group: GroupGateway, Kind: "GRPCRoute"},
	{Group: GroupLinkerd, Kind: "ServiceProfile"},
}

// Collect reads namespace ns's pods, Services and mesh policy from the cluster. Kinds the
// cluster does not serve (no Gateway API, no Linkerd CRDs) are simply absent: the checks then
// report what that absence means (no Server covers any port).
func Collect(ctx context.Context, c *kube.Clients, ns string) (*Inventory, error) {
	pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods in %s: %w", ns, err)
	}
	svcs, err := c.Kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Services in %s: %w", ns, err)
	}
	inv := &Inventory{Namespace: ns, Services: svcs.Items}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" {
			continue // finished pods run no proxy any more and take no traffic
		}
		inv.Workloads = append(inv.Workloads, Workload{Kind: "Pod", Name: p.Name, Labels: p.Labels, Annotations: p.Annotations, Spec: p.Spec})
	}
	served, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	for _, gk := range policyKinds {
		versions := served.Versions(gk.Group, gk.Kind)
		if len(versions) == 0 {
			continue
		}
		m, err := c.ResourceFor(gk.WithVersion(versions[0]))
		if err != nil {
			return nil, err
		}
		list, err := c.Dynamic.Resource(m.Resource).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", m.Resource.GroupResource(), ns, err)
		}
		for i := range list.Items {
			o := list.Items[i]
			o.SetGroupVersionKind(gk.WithVersion(versions[0]))
			inv.Policy = append(inv.Policy, (*unstructured.Unstructured)(&o))
		}
	}
	return inv, nil
}
