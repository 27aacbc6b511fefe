package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trafficctl/trafficctl/internal/sandbox/proxy"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/split"
)

var serviceProfiles = schema.GroupVersionResource{Group: "linkerd.io", Version: "v1alpha2", Resource: "serviceprofiles"}

// live reads, from the API server, what Linkerd's proxies would apply to the apex, with
// Linkerd's precedence: a ServiceProfile with routes or dstOverrides overrides HTTPRoutes and
// the Service's retry and timeout annotations; its dstOverrides (which the linkerd-smi adaptor
// writes from a TrafficSplit) or else the TrafficSplit itself give the weights.
type live struct {
	c         *kube.Clients
	ns, apex  string
	router    split.Router
	routerKey split.Kind
	at        time.Time
}

func (l *live) profile(ctx context.Context) (*unstructured.Unstructured, error) {
	name := fmt.Sprintf("%s.%s.svc.cluster.local", l.apex, l.ns)
	sp, err := l.c.Dynamic.Resource(serviceProfiles).Namespace(l.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get ServiceProfile %s/%s: %w", l.ns, name, err)
	}
	routes, _, _ := unstructured.NestedSlice(sp.Object, "spec", "routes")
	overrides, _, _ := unstructured.NestedSlice(sp.Object, "spec", "dstOverrides")
	if len(routes) == 0 && len(overrides) == 0 {
		return nil, nil // an empty profile changes nothing
	}
	return sp, nil
}

// Split implements proxy.SplitFunc.
func (l *live) Split(ctx context.Context) (*split.Split, error) {
	sp, err := l.profile(ctx)
	if err != nil {
		return nil, err
	}
	kind := split.KindAuto
	if sp != nil {
		if bs := dstOverrides(sp); len(bs) > 0 {
			return &split.Split{Namespace: l.ns, Apex: l.apex, Backends: bs, Uniform: true}, nil
		}
		kind = split.KindSMI
	}
	// The router choice is kept for a few seconds, and made again at once when the chosen
	// router finds nothing, so that a split written later by another router is followed.
	if l.router == nil || l.routerKey != kind || time.Since(l.at) > 5*time.Second {
		sel, err := split.Select(ctx, l.c, kind, l.ns, l.apex, split.Options{})
		if err != nil {
			return nil, err
		}
		l.router, l.routerKey, l.at = sel.Router, kind, time.Now()
	}
	s, err := l.router.Get(ctx, l.ns, l.apex)
	if errors.Is(err, split.ErrNotFound) {
		l.router = nil
	}
	return s, err
}

// dstOverrides reads a ServiceProfile's weighted authorities as backend Services.
func dstOverrides(sp *unstructured.Unstructured) []split.Backend {
	overrides, _, _ := unstructured.NestedSlice(sp.Object, "spec", "dstOverrides")
	var out []split.Backend
	for _, raw := range overrides {
		m, _ := raw.(map[string]any)
		authority, _ := m["authority"].(string)
		svc, _, _ := strings.Cut(authority, ".")
		var w int64
		switch v := m["weight"].(type) {
		case int64:
			w = v
		case float64:
			w = int64(v)
		case string:
			// Kubernetes quantities such as "500m" (the SMI adaptor writes those) or "1".
			if n, ok := strings.CutSuffix(v, "m"); ok {
				fmt.Sscan(n, &w)
			} else if _, err := fmt.Sscan(v, &w); err == nil {
				w *= 1000
			}
		}
		if svc != "" {
			out = append(out, split.Backend{Service: svc, Weight: w})
		}
	}
	return out
}

// Policy implements proxy.PolicyFunc: the ServiceProfile's routes when it has any, else the
// Service's retry and timeout annotations; failure accrual always comes from the Service.
func (l *live) Policy(ctx context.Context) (*proxy.Policy, error) {
	svc, err := l.c.Kube.CoreV1().Services(l.ns).Get(ctx, l.apex, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get Service %s/%s: %w", l.ns, l.apex, err)
	}
	ann, err := proxy.AnnotationPolicy("Service "+l.ns+"/"+l.apex, svc.Annotations)
	if err != nil {
		return nil, err
	}
	sp, err := l.profile(ctx)
	if err != nil || sp == nil {
		return ann, err
	}
	p, _, err := proxy.ProfilePolicy(sp)
	if err != nil {
		return nil, fmt.Errorf("ServiceProfile %s: %w", sp.GetName(), err)
	}
	p.Accrual = ann.Accrual
	return p, nil
}
