// Package migrate moves a Service's Linkerd policy off ServiceProfiles and SMI TrafficSplits,
// which Linkerd has supplanted, onto Gateway API routes: HTTPRoutes (gateway.networking.k8s.io
// or policy.linkerd.io) or GRPCRoutes carrying Linkerd's retry and timeout annotations, with the
// split's weights on every rule. Each migration comes with a proof that every request the old
// objects route to a policy is routed by the new ones to the same policy.
package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	splitv1alpha1 "github.com/servicemeshinterface/smi-sdk-go/pkg/apis/split/v1alpha1"
	splitv1alpha2 "github.com/servicemeshinterface/smi-sdk-go/pkg/apis/split/v1alpha2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/smi"
)

// Input is what a migration reads: the old objects of one or more Services.
type Input struct {
	Profiles []*profiles.ServiceProfile
	Splits   []*smi.TrafficSplit
	// Ignored names the objects of other kinds the input held.
	Ignored []string
}

// ErrInput marks input that cannot be read: not YAML or JSON, or an invalid object.
var ErrInput = errors.New("invalid input")

// Read reads ServiceProfiles and TrafficSplits (v1alpha1, v1alpha2) from a YAML or JSON stream:
// several documents, `kind: List` (kubectl get -o yaml) included. source names the input in
// errors.
func Read(source string, data []byte) (*Input, error) {
	in := &Input{}
	if err := decodeObjects(source, data, in.add); err != nil {
		return nil, err
	}
	return in, nil
}

// decodeObjects calls each for every object of a YAML or JSON stream, the items of a
// `kind: List` one by one.
func decodeObjects(source string, data []byte, each func(map[string]any) error) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for doc := 1; ; doc++ {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err == nil && obj != nil {
			err = eachItem(obj, each)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: document %d: %v", ErrInput, source, doc, err)
		}
	}
}

func eachItem(obj map[string]any, each func(map[string]any) error) error {
	items, ok := obj["items"].([]any)
	if kind, _ := obj["kind"].(string); !ok || !strings.HasSuffix(kind, "List") {
		return each(obj)
	}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("item %d is not an object", i+1)
		}
		if err := eachItem(m, each); err != nil {
			return fmt.Errorf("item %d: %w", i+1, err)
		}
	}
	return nil
}

func (in *Input) add(obj map[string]any) error {
	u := &unstructured.Unstructured{Object: obj}
	gv := u.GroupVersionKind()
	switch {
	case gv.Group == "linkerd.io" && gv.Kind == profiles.ServiceProfileKind:
		normalizeNot(obj)
		sp := new(profiles.ServiceProfile)
		if err := fromMap(obj, sp); err != nil {
			return fmt.Errorf("ServiceProfile %s: %w", u.GetName(), err)
		}
		if sp.Metadata.Name == "" {
			return errors.New("ServiceProfile without a name")
		}
		in.Profiles = append(in.Profiles, sp)
	case gv.Group == "split.smi-spec.io" && gv.Kind == "TrafficSplit":
		ts, err := readSplit(gv.Version, obj)
		if err != nil {
			return fmt.Errorf("TrafficSplit %s: %w", u.GetName(), err)
		}
		in.Splits = append(in.Splits, ts)
	default:
		in.Ignored = append(in.Ignored, fmt.Sprintf("%s %s", u.GetKind(), u.GetName()))
	}
	return nil
}

func readSplit(version string, obj map[string]any) (*smi.TrafficSplit, error) {
	var ts *smi.TrafficSplit
	var err error
	switch version {
	case "v1alpha1":
		t := new(splitv1alpha1.TrafficSplit)
		if err = fromMap(obj, t); err == nil {
			ts, err = smi.FromV1alpha1(t)
		}
	case "v1alpha2":
		t := new(splitv1alpha2.TrafficSplit)
		if err = fromMap(obj, t); err == nil {
			ts, err = smi.FromV1alpha2(t)
		}
	default:
		return nil, fmt.Errorf("unsupported version %q: use v1alpha1 or v1alpha2", version)
	}
	if err != nil {
		return nil, err
	}
	if ts.Service == "" || ts.Name == "" {
		return nil, errors.New("name and spec.service are required")
	}
	return ts, nil
}

// fromMap decodes a value of an unstructured object into a typed one, through JSON.
func fromMap(obj any, into any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// normalizeNot wraps a route condition's `not` written as an object (Linkerd's Go type) in a
// list (the CRD's schema), so both spellings read.
func normalizeNot(obj map[string]any) {
	spec, _ := obj["spec"].(map[string]any)
	routes, _ := spec["routes"].([]any)
	for _, r := range routes {
		rm, _ := r.(map[string]any)
		if c, ok := rm["condition"].(map[string]any); ok {
			wrapNot(c, 0)
		}
	}
}

func wrapNot(c map[string]any, depth int) {
	if depth > 32 {
		return
	}
	if n, ok := c["not"].(map[string]any); ok {
		c["not"] = []any{n}
	}
	for _, key := range []string{"all", "any", "not"} {
		list, _ := c[key].([]any)
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				wrapNot(m, depth+1)
			}
		}
	}
}
