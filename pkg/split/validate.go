package split

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ApexService reads the apex Service; a missing one is ErrInvalid (the user named it).
func ApexService(ctx context.Context, kc kubernetes.Interface, ns, apex string) (*corev1.Service, error) {
	svc, err := kc.CoreV1().Services(ns).Get(ctx, apex, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: apex Service %s/%s not found: create it first, or pick the namespace with -n", ErrInvalid, ns, apex)
	}
	if err != nil {
		return nil, fmt.Errorf("get apex Service %s/%s: %w", ns, apex, err)
	}
	return svc, nil
}

// ValidateBackends checks a split against the cluster before anything is written: the
// weights are sane, the apex and every backend exist as Services in ns, and every backend
// exposes each of the apex's ports (same number and protocol), since the mesh sends a
// request to the backend on the port it was addressed to. It returns the apex Service.
func ValidateBackends(ctx context.Context, kc kubernetes.Interface, ns, apex string, bs []Backend) (*corev1.Service, error) {
	if err := ValidateWeights(bs); err != nil {
		return nil, err
	}
	apexSvc, err := ApexService(ctx, kc, ns, apex)
	if err != nil {
		return nil, err
	}
	if len(apexSvc.Spec.Ports) == 0 {
		return nil, fmt.Errorf("%w: apex Service %s/%s has no ports", ErrInvalid, ns, apex)
	}
	for _, b := range bs {
		svc := apexSvc
		if b.Service != apex {
			svc, err = kc.CoreV1().Services(ns).Get(ctx, b.Service, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("%w: backend Service %s/%s not found: create one Service per version first", ErrInvalid, ns, b.Service)
			}
			if err != nil {
				return nil, fmt.Errorf("get backend Service %s/%s: %w", ns, b.Service, err)
			}
		}
		for _, ap := range apexSvc.Spec.Ports {
			if !exposes(svc, ap) {
				return nil, fmt.Errorf("%w: backend Service %s/%s does not expose port %d/%s of apex %s: give it the same port", ErrInvalid, ns, b.Service, ap.Port, protocol(ap), apex)
			}
		}
	}
	return apexSvc, nil
}

func exposes(svc *corev1.Service, want corev1.ServicePort) bool {
	for _, p := range svc.Spec.Ports {
		if p.Port == want.Port && protocol(p) == protocol(want) {
			return true
		}
	}
	return false
}

func protocol(p corev1.ServicePort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}
