// Package smi builds, reads and updates SMI TrafficSplits (split.smi-spec.io) in the two
// versions the linkerd-smi extension serves: v1alpha1, whose weights are quantities ("500m",
// "90") and which Linkerd's adaptor reads, and v1alpha2, whose weights are integers. It uses
// smi-sdk-go's types and generated clientset. v1alpha3 and v1alpha4 are refused: Linkerd never
// supported them and SMI itself is archived.
package smi

import (
	"context"
	"errors"
	"fmt"

	splitv1alpha1 "github.com/servicemeshinterface/smi-sdk-go/pkg/apis/split/v1alpha1"
	splitv1alpha2 "github.com/servicemeshinterface/smi-sdk-go/pkg/apis/split/v1alpha2"
	"github.com/servicemeshinterface/smi-sdk-go/pkg/gen/client/split/clientset/versioned"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Group and Kind of the TrafficSplit API.
const (
	Group = "split.smi-spec.io"
	Kind  = "TrafficSplit"
)

// Version is a TrafficSplit API version trafficctl can write.
type Version string

// Supported versions; V1alpha1 is the default because it is the storage version of the
// linkerd-smi CRD and the one its adaptor reads.
const (
	V1alpha1 Version = "v1alpha1"
	V1alpha2 Version = "v1alpha2"
)

// ErrUnsupportedVersion marks a TrafficSplit version trafficctl refuses.
var ErrUnsupportedVersion = errors.New("unsupported TrafficSplit version")

// ParseVersion accepts v1alpha1 and v1alpha2 and explains why the others are refused.
func ParseVersion(s string) (Version, error) {
	switch s {
	case string(V1alpha1), string(V1alpha2):
		return Version(s), nil
	case "v1alpha3", "v1alpha4":
		return "", fmt.Errorf("%w: TrafficSplit %s has no Linkerd support (the linkerd-smi extension serves v1alpha1 and v1alpha2 only) and SMI is archived: use v1alpha1, or an HTTPRoute (--router gateway)", ErrUnsupportedVersion, s)
	}
	return "", fmt.Errorf("%w: %q is not a TrafficSplit version: use v1alpha1 or v1alpha2", ErrUnsupportedVersion, s)
}

// TrafficSplit is a TrafficSplit independent of its API version. Weights are integers with the
// stored proportions (see IntWeights for v1alpha1 quantities).
type TrafficSplit struct {
	// ObjectMeta is kept whole so that an update preserves labels, annotations and the
	// resourceVersion that makes the update conditional.
	metav1.ObjectMeta
	// Version is the version the object was read with, or is written with.
	Version Version
	// Service is the apex Service clients call.
	Service  string
	Backends []Backend
}

// Backend is one weighted destination Service.
type Backend struct {
	Service string
	Weight  int64
}

// New builds a TrafficSplit named name in ns that splits service between backends.
func New(v Version, ns, name, service string, backends []Backend) *TrafficSplit {
	return &TrafficSplit{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Version:    v,
		Service:    service,
		Backends:   backends,
	}
}

// Describe names the object in messages: "TrafficSplit ns/name".
func (t *TrafficSplit) Describe() string {
	return fmt.Sprintf("%s %s/%s", Kind, t.Namespace, t.Name)
}

// FromV1alpha1 converts a v1alpha1 object; quantity weights become proportional integers.
func FromV1alpha1(in *splitv1alpha1.TrafficSplit) (*TrafficSplit, error) {
	qs := make([]*resource.Quantity, len(in.Spec.Backends))
	for i, b := range in.Spec.Backends {
		qs[i] = b.Weight
	}
	ws, err := IntWeights(qs)
	if err != nil {
		return nil, fmt.Errorf("TrafficSplit %s/%s: %w", in.Namespace, in.Name, err)
	}
	out := &TrafficSplit{ObjectMeta: *in.ObjectMeta.DeepCopy(), Version: V1alpha1, Service: in.Spec.Service}
	for i, b := range in.Spec.Backends {
		out.Backends = append(out.Backends, Backend{Service: b.Service, Weight: ws[i]})
	}
	return out, nil
}

// FromV1alpha2 converts a v1alpha2 object.
func FromV1alpha2(in *splitv1alpha2.TrafficSplit) (*TrafficSplit, error) {
	out := &TrafficSplit{ObjectMeta: *in.ObjectMeta.DeepCopy(), Version: V1alpha2, Service: in.Spec.Service}
	for _, b := range in.Spec.Backends {
		if b.Weight < 0 {
			return nil, fmt.Errorf("TrafficSplit %s/%s: %w: backend %s has weight %d", in.Namespace, in.Name, ErrWeight, b.Service, b.Weight)
		}
		out.Backends = append(out.Backends, Backend{Service: b.Service, Weight: int64(b.Weight)})
	}
	return out, nil
}

// V1alpha1 converts to the v1alpha1 type, weights as decimal quantities.
func (t *TrafficSplit) V1alpha1() (*splitv1alpha1.TrafficSplit, error) {
	ws := make([]int64, len(t.Backends))
	for i, b := range t.Backends {
		ws[i] = b.Weight
	}
	qs, err := Quantities(ws)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Describe(), err)
	}
	out := &splitv1alpha1.TrafficSplit{
		TypeMeta:   metav1.TypeMeta{APIVersion: Group + "/" + string(V1alpha1), Kind: Kind},
		ObjectMeta: *t.ObjectMeta.DeepCopy(),
		Spec:       splitv1alpha1.TrafficSplitSpec{Service: t.Service},
	}
	for i, b := range t.Backends {
		out.Spec.Backends = append(out.Spec.Backends, splitv1alpha1.TrafficSplitBackend{Service: b.Service, Weight: qs[i]})
	}
	return out, nil
}

// V1alpha2 converts to the v1alpha2 type.
func (t *TrafficSplit) V1alpha2() (*splitv1alpha2.TrafficSplit, error) {
	out := &splitv1alpha2.TrafficSplit{
		TypeMeta:   metav1.TypeMeta{APIVersion: Group + "/" + string(V1alpha2), Kind: Kind},
		ObjectMeta: *t.ObjectMeta.DeepCopy(),
		Spec:       splitv1alpha2.TrafficSplitSpec{Service: t.Service},
	}
	for _, b := range t.Backends {
		if b.Weight < 0 || b.Weight != int64(int(b.Weight)) {
			return nil, fmt.Errorf("%s: %w: backend %s weight %d", t.Describe(), ErrWeight, b.Service, b.Weight)
		}
		out.Spec.Backends = append(out.Spec.Backends, splitv1alpha2.TrafficSplitBackend{Service: b.Service, Weight: int(b.Weight)})
	}
	return out, nil
}

// Client reads and writes TrafficSplits through smi-sdk-go's generated clientset.
type Client struct {
	cs versioned.Interface
}

// NewClient builds a Client for a REST config.
func NewClient(cfg *rest.Config) (*Client, error) {
	cs, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("build TrafficSplit client: %w", err)
	}
	return &Client{cs: cs}, nil
}

// NewClientFor wraps an existing clientset (a fake one in tests).
func NewClientFor(cs versioned.Interface) *Client { return &Client{cs: cs} }

// Get reads ns/name through version v.
func (c *Client) Get(ctx context.Context, v Version, ns, name string) (*TrafficSplit, error) {
	var (
		out *TrafficSplit
		err error
	)
	switch v {
	case V1alpha1:
		var o *splitv1alpha1.TrafficSplit
		if o, err = c.cs.SplitV1alpha1().TrafficSplits(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			out, err = FromV1alpha1(o)
		}
	case V1alpha2:
		var o *splitv1alpha2.TrafficSplit
		if o, err = c.cs.SplitV1alpha2().TrafficSplits(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			out, err = FromV1alpha2(o)
		}
	default:
		_, err = ParseVersion(string(v))
	}
	if err != nil {
		return nil, fmt.Errorf("get TrafficSplit %s/%s: %w", ns, name, err)
	}
	return out, nil
}

// List reads every TrafficSplit in ns through version v.
func (c *Client) List(ctx context.Context, v Version, ns string) ([]*TrafficSplit, error) {
	var out []*TrafficSplit
	switch v {
	case V1alpha1:
		l, err := c.cs.SplitV1alpha1().TrafficSplits(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list TrafficSplits in %s: %w", ns, err)
		}
		for i := range l.Items {
			t, err := FromV1alpha1(&l.Items[i])
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	case V1alpha2:
		l, err := c.cs.SplitV1alpha2().TrafficSplits(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list TrafficSplits in %s: %w", ns, err)
		}
		for i := range l.Items {
			t, err := FromV1alpha2(&l.Items[i])
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	default:
		_, err := ParseVersion(string(v))
		return nil, err
	}
	return out, nil
}

// WriteOptions are the Create/Update options every trafficctl write uses: field manager
// "trafficctl", strict field validation, and the dry-run mode.
func WriteOptions(dryRun []string) (metav1.CreateOptions, metav1.UpdateOptions) {
	return metav1.CreateOptions{FieldManager: kube.FieldManager, FieldValidation: metav1.FieldValidationStrict, DryRun: dryRun},
		metav1.UpdateOptions{FieldManager: kube.FieldManager, FieldValidation: metav1.FieldValidationStrict, DryRun: dryRun}
}

// Create writes a new TrafficSplit in t.Version. dryRun is the request's dryRun parameter.
func (c *Client) Create(ctx context.Context, t *TrafficSplit, dryRun []string) (*TrafficSplit, error) {
	co, _ := WriteOptions(dryRun)
	out, err := c.write(t, func(a1 *splitv1alpha1.TrafficSplit, a2 *splitv1alpha2.TrafficSplit) (*TrafficSplit, error) {
		if a1 != nil {
			o, err := c.cs.SplitV1alpha1().TrafficSplits(t.Namespace).Create(ctx, a1, co)
			if err != nil {
				return nil, err
			}
			return FromV1alpha1(o)
		}
		o, err := c.cs.SplitV1alpha2().TrafficSplits(t.Namespace).Create(ctx, a2, co)
		if err != nil {
			return nil, err
		}
		return FromV1alpha2(o)
	})
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", t.Describe(), err)
	}
	return out, nil
}

// Update replaces the TrafficSplit with t, conditional on t.ResourceVersion: the server
// answers with a Conflict error when someone else wrote the object since it was read.
func (c *Client) Update(ctx context.Context, t *TrafficSplit, dryRun []string) (*TrafficSplit, error) {
	_, uo := WriteOptions(dryRun)
	out, err := c.write(t, func(a1 *splitv1alpha1.TrafficSplit, a2 *splitv1alpha2.TrafficSplit) (*TrafficSplit, error) {
		if a1 != nil {
			o, err := c.cs.SplitV1alpha1().TrafficSplits(t.Namespace).Update(ctx, a1, uo)
			if err != nil {
				return nil, err
			}
			return FromV1alpha1(o)
		}
		o, err := c.cs.SplitV1alpha2().TrafficSplits(t.Namespace).Update(ctx, a2, uo)
		if err != nil {
			return nil, err
		}
		return FromV1alpha2(o)
	})
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", t.Describe(), err)
	}
	return out, nil
}

// write converts t to its version's type and hands it to do.
func (c *Client) write(t *TrafficSplit, do func(*splitv1alpha1.TrafficSplit, *splitv1alpha2.TrafficSplit) (*TrafficSplit, error)) (*TrafficSplit, error) {
	switch t.Version {
	case V1alpha1:
		o, err := t.V1alpha1()
		if err != nil {
			return nil, err
		}
		return do(o, nil)
	case V1alpha2:
		o, err := t.V1alpha2()
		if err != nil {
			return nil, err
		}
		return do(nil, o)
	}
	_, err := ParseVersion(string(t.Version))
	return nil, err
}

// Delete removes ns/name if it still has the given UID and resourceVersion (undoing a
// create without touching a TrafficSplit someone else made since).
func (c *Client) Delete(ctx context.Context, v Version, ns, name string, uid types.UID, resourceVersion string) error {
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &resourceVersion}}
	var err error
	switch v {
	case V1alpha1:
		err = c.cs.SplitV1alpha1().TrafficSplits(ns).Delete(ctx, name, opts)
	case V1alpha2:
		err = c.cs.SplitV1alpha2().TrafficSplits(ns).Delete(ctx, name, opts)
	default:
		_, err = ParseVersion(string(v))
	}
	if err != nil {
		return fmt.Errorf("delete TrafficSplit %s/%s: %w", ns, name, err)
	}
	return nil
}
