package migrate

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// serviceProfiles is the resource of Linkerd's ServiceProfiles.
var serviceProfiles = schema.GroupVersionResource{Group: kube.GroupLinkerd, Version: "v1alpha2", Resource: "serviceprofiles"}

// FromCluster reads a namespace's ServiceProfiles and TrafficSplits, only those of one Service
// when service is not empty. A cluster without their CRDs has none.
func FromCluster(ctx context.Context, c *kube.Clients, ns, service string) (*Input, error) {
	in := &Input{}
	list, err := c.Dynamic.Resource(serviceProfiles).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("list ServiceProfiles in %s: %w", ns, err)
	}
	if err == nil {
		for _, item := range list.Items {
			if err := in.add(item.Object); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInput, err)
			}
		}
	}
	served, err := c.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover TrafficSplit versions: %w", err)
	}
	if vs := served.Versions(kube.GroupSMISplit, "TrafficSplit"); len(vs) > 0 {
		gvr := schema.GroupVersionResource{Group: kube.GroupSMISplit, Version: vs[0], Resource: "trafficsplits"}
		splits, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list TrafficSplits in %s: %w", ns, err)
		}
		for _, item := range splits.Items {
			if err := in.add(item.Object); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInput, err)
			}
		}
	}
	if service != "" {
		in.Only(ns, service)
	}
	return in, nil
}

// Only keeps the objects of one Service (of any namespace when ns is empty).
func (in *Input) Only(ns, service string) {
	ps := in.Profiles[:0]
	for _, sp := range in.Profiles {
		if pns, svc := profileService(sp); (ns == "" || pns == ns) && svc == service {
			ps = append(ps, sp)
		}
	}
	in.Profiles = ps
	ss := in.Splits[:0]
	for _, ts := range in.Splits {
		if (ns == "" || ts.Namespace == ns) && ts.Service == service {
			ss = append(ss, ts)
		}
	}
	in.Splits = ss
}

// ServicePort is the first port of a Service: the port TrafficSplit backends are reached on.
func ServicePort(ctx context.Context, c *kube.Clients, ns, name string) (int32, error) {
	svc, err := c.Kube.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("read Service %s/%s for its port: %w", ns, name, err)
	}
	if len(svc.Spec.Ports) == 0 {
		return 0, fmt.Errorf("service %s/%s has no ports", ns, name)
	}
	return svc.Spec.Ports[0].Port, nil
}
