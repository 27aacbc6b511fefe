package split

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/smi"
)

// Options tune router selection.
type Options struct {
	// SMIVersion is the TrafficSplit version to write (v1alpha1 or v1alpha2); empty picks
	// v1alpha1, what Linkerd's SMI adaptor reads, when the cluster serves it.
	SMIVersion string
}

// Selection is the router New picked and why, for the user to see.
type Selection struct {
	Router Router
	Reason string
	// Warnings tell about objects of other routers that steer the same apex.
	Warnings []string
}

// install says what to install for each router's API, for "not served" errors.
var install = map[Kind]string{
	KindSMI:     "TrafficSplit (split.smi-spec.io v1alpha1/v1alpha2) is not served: install the linkerd-smi extension (linkerd smi install | kubectl apply -f -)",
	KindGateway: "HTTPRoute (gateway.networking.k8s.io) is not served: install the Gateway API CRDs (linkerd install --crds ships them, or the Gateway API release bundle)",
	KindLinkerd: "HTTPRoute (policy.linkerd.io) is not served: install Linkerd's CRDs (linkerd install --crds | kubectl apply -f -)",
}

// New returns the router of kind for apex in ns; see Select.
func New(ctx context.Context, c *kube.Clients, kind Kind, ns, apex string, o Options) (Router, error) {
	sel, err := Select(ctx, c, kind, ns, apex, o)
	if err != nil {
		return nil, err
	}
	return sel.Router, nil
}

// Select builds the router of kind at the API versions the cluster serves. With KindAuto it
// uses the router whose objects already steer apex; when none do, the first served of Gateway
// API HTTPRoute (Linkerd's current way), Linkerd's HTTPRoute and TrafficSplit. Objects of more
// than one router steering apex is ErrAmbiguous; no API served is ErrNotServed.
func Select(ctx context.Context, c *kube.Clients, kind Kind, ns, apex string, o Options) (*Selection, error) {
	if o.SMIVersion != "" {
		if _, err := smi.ParseVersion(o.SMIVersion); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	served, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	routers := map[Kind]Router{}
	notServed := map[Kind]error{}
	for _, k := range []Kind{KindGateway, KindLinkerd, KindSMI} {
		r, err := build(c, served, k, o)
		if errors.Is(err, ErrNotServed) {
			notServed[k] = err
			continue
		}
		if err != nil {
			return nil, err
		}
		routers[k] = r
	}
	if kind != KindAuto {
		if err := notServed[kind]; err != nil {
			return nil, err
		}
		r, ok := routers[kind]
		if !ok {
			return nil, fmt.Errorf("%w: unknown router %q", ErrInvalid, kind)
		}
		sel := &Selection{Router: r, Reason: "--router " + string(kind)}
		// Objects of another router steering the same apex compete with this one (a
		// TrafficSplit becomes ServiceProfile dstOverrides, which make Linkerd ignore
		// HTTPRoutes): say so, but do as told.
		if _, err := ApexService(ctx, c.Kube, ns, apex); err != nil {
			return nil, err
		}
		others := map[Kind]Router{}
		for k, o := range routers {
			if k != kind {
				others[k] = o
			}
		}
		steering, objects, err := steerers(ctx, others, ns, apex)
		if err != nil {
			return nil, err
		}
		if len(steering) > 0 {
			sel.Warnings = append(sel.Warnings, fmt.Sprintf("Service %s/%s is also steered by %s (%s): Linkerd follows only one of them; remove the ones you do not use", ns, apex, joinKinds(steering), strings.Join(objects, ", ")))
		}
		return sel, nil
	}
	if len(routers) == 0 {
		return nil, fmt.Errorf("%w: no traffic-split API is served: install the Gateway API CRDs (HTTPRoute, Linkerd's current way), Linkerd's CRDs (policy.linkerd.io HTTPRoute) or the linkerd-smi extension (TrafficSplit)", ErrNotServed)
	}
	if _, err := ApexService(ctx, c.Kube, ns, apex); err != nil {
		return nil, err
	}
	steering, objects, err := steerers(ctx, routers, ns, apex)
	if err != nil {
		return nil, err
	}
	switch len(steering) {
	case 0:
		for _, k := range []Kind{KindGateway, KindLinkerd, KindSMI} {
			if r, ok := routers[k]; ok {
				return &Selection{Router: r, Reason: fmt.Sprintf("nothing steers %s yet; %s is the preferred API served", apex, k)}, nil
			}
		}
	case 1:
		return &Selection{Router: routers[steering[0]], Reason: fmt.Sprintf("%s already steers %s", strings.Join(objects, ", "), apex)}, nil
	}
	return nil, fmt.Errorf("%w: Service %s/%s is steered by %s at once (%s): remove the ones you do not use, or pick one with --router", ErrAmbiguous, ns, apex, joinKinds(steering), strings.Join(objects, ", "))
}

// steerers lists, in preference order, the routers whose objects steer apex, and the objects.
func steerers(ctx context.Context, routers map[Kind]Router, ns, apex string) ([]Kind, []string, error) {
	var steering []Kind
	var objects []string
	for _, k := range []Kind{KindGateway, KindLinkerd, KindSMI} {
		r, ok := routers[k]
		if !ok {
			continue
		}
		s, err := r.Get(ctx, ns, apex)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		steering = append(steering, k)
		for _, rule := range s.Rules {
			if !slices.Contains(objects, rule.Object) {
				objects = append(objects, rule.Object)
			}
		}
	}
	return steering, objects, nil
}

// build constructs the router of kind at the versions served, or ErrNotServed.
func build(c *kube.Clients, served *kube.Served, kind Kind, o Options) (Router, error) {
	switch kind {
	case KindGateway:
		vs := served.Versions(kube.GroupGatewayAPI, "HTTPRoute")
		if len(vs) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNotServed, install[kind])
		}
		return NewGatewayRouter(c, vs[0]), nil
	case KindLinkerd:
		vs := served.Versions(kube.GroupLinkerdPolicy, "HTTPRoute")
		if len(vs) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNotServed, install[kind])
		}
		return NewLinkerdRouter(c, vs[0]), nil
	case KindSMI:
		vs := served.Versions(smi.Group, smi.Kind)
		var supported []smi.Version
		for _, v := range []smi.Version{smi.V1alpha1, smi.V1alpha2} {
			if slices.Contains(vs, string(v)) {
				supported = append(supported, v)
			}
		}
		if len(supported) == 0 {
			if len(vs) > 0 {
				return nil, fmt.Errorf("%w: the cluster serves TrafficSplit only as %s, which Linkerd never supported (SMI is archived): install the linkerd-smi extension's CRD (v1alpha1/v1alpha2), or use --router gateway", ErrNotServed, strings.Join(vs, ", "))
			}
			return nil, fmt.Errorf("%w: %s", ErrNotServed, install[kind])
		}
		write := supported[0]
		if o.SMIVersion != "" {
			write = smi.Version(o.SMIVersion)
			if !slices.Contains(supported, write) {
				return nil, fmt.Errorf("%w: TrafficSplit %s is not served here (served: %s)", ErrNotServed, write, strings.Join(vs, ", "))
			}
		}
		return NewSMIRouter(c, supported[0], write)
	}
	return nil, fmt.Errorf("%w: unknown router %q", ErrInvalid, kind)
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, " and ")
}
