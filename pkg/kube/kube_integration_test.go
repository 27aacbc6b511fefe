package kube_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

var splitGVR = schema.GroupVersionResource{Group: "split.smi-spec.io", Version: "v1alpha2", Resource: "trafficsplits"}

func trafficSplit(t *testing.T, ns, name, weight string) *unstructured.Unstructured {
	t.Helper()
	var obj unstructured.Unstructured
	doc := `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: {name: ` + name + `, namespace: ` + ns + `}
spec:
  service: web-svc
  backends:
  - {service: web-v1, weight: 90}
  - {service: web-v2, weight: ` + weight + `}
`
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("decode fixture: %v", err)
	}
	return &obj
}

func TestTrafficSplitLifecycle(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t)
	c := env.Clients(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ri := c.Dynamic.Resource(splitGVR).Namespace(ns)

	w, err := ri.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	t.Run("server dry run leaves nothing behind", func(t *testing.T) {
		if _, err := c.Apply(ctx, trafficSplit(t, ns, "dry", "10"), kube.ApplyOptions{DryRun: kube.DryRunServer}); err != nil {
			t.Fatalf("dry-run apply: %v", err)
		}
		if _, err := ri.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("dry run persisted the object (get err = %v)", err)
		}
	})

	t.Run("client dry run does not contact the server", func(t *testing.T) {
		obj := trafficSplit(t, ns, "client-dry", "10")
		got, err := c.Apply(ctx, obj, kube.ApplyOptions{DryRun: kube.DryRunClient})
		if err != nil || got != obj {
			t.Fatalf("client dry run = %v, %v; want the object back unchanged", got, err)
		}
		if _, err := ri.Get(ctx, "client-dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("client dry run persisted the object (get err = %v)", err)
		}
	})

	t.Run("invalid weight is rejected by the server", func(t *testing.T) {
		_, err := c.Apply(ctx, trafficSplit(t, ns, "bad", `"ten"`), kube.ApplyOptions{DryRun: kube.DryRunNone})
		var status apierrors.APIStatus
		if !errors.As(err, &status) || !strings.Contains(err.Error(), "weight") {
			t.Fatalf("apply weight \"ten\": err = %v, want the server's rejection naming the weight", err)
		}
		t.Logf("server said (%s): %v", apierrors.ReasonForError(err), err)
		if !strings.Contains(err.Error(), "TrafficSplit "+ns+"/bad") {
			t.Errorf("error %q does not name the object", err)
		}
	})

	t.Run("unknown field is an error under strict validation", func(t *testing.T) {
		obj := trafficSplit(t, ns, "strict", "10")
		_ = unstructured.SetNestedField(obj.Object, "yes", "spec", "bogusField")
		if _, err := c.Apply(ctx, obj, kube.ApplyOptions{DryRun: kube.DryRunServer}); err == nil || !strings.Contains(err.Error(), "bogusField") {
			t.Fatalf("apply with unknown field: err = %v, want a strict-validation error naming bogusField", err)
		}
	})

	obj := trafficSplit(t, ns, "web", "10")
	if _, err := c.Apply(ctx, obj, kube.ApplyOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := ri.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if m := got.GetManagedFields(); len(m) == 0 || m[0].Manager != kube.FieldManager {
		t.Errorf("managed fields = %+v, want manager %q", m, kube.FieldManager)
	}

	t.Run("conflict with another manager is reported", func(t *testing.T) {
		patch := []byte(`{"apiVersion":"split.smi-spec.io/v1alpha2","kind":"TrafficSplit","metadata":{"name":"web"},"spec":{"service":"web-apex"}}`)
		force := true
		if _, err := ri.Patch(ctx, "web", types.ApplyPatchType, patch, metav1.PatchOptions{FieldManager: "someone-else", Force: &force}); err != nil {
			t.Fatalf("other manager's apply: %v", err)
		}
		_, err := c.Apply(ctx, trafficSplit(t, ns, "web", "20"), kube.ApplyOptions{})
		var ce *kube.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, kube.ErrConflict) {
			t.Fatalf("apply over another manager's field: err = %v, want ConflictError", err)
		}
		if !strings.Contains(err.Error(), "someone-else") || !strings.Contains(err.Error(), "--force-conflicts") {
			t.Errorf("conflict message %q should name the other manager and the way out", err)
		}
		if _, err := c.Apply(ctx, trafficSplit(t, ns, "web", "20"), kube.ApplyOptions{ForceConflicts: true}); err != nil {
			t.Fatalf("forced apply: %v", err)
		}
	})

	if err := ri.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}

	expectEvents(ctx, t, w, "web", watch.Added, watch.Modified, watch.Modified, watch.Deleted)
}

// expectEvents waits for the watch to report exactly want, in order, for the object named name.
func expectEvents(ctx context.Context, t *testing.T, w watch.Interface, name string, want ...watch.EventType) {
	t.Helper()
	var seen []watch.EventType
	for len(seen) < len(want) {
		select {
		case ev := <-w.ResultChan():
			if u, ok := ev.Object.(*unstructured.Unstructured); ok && u.GetName() == name {
				seen = append(seen, ev.Type)
			}
		case <-ctx.Done():
			t.Fatalf("watch saw %v, want %v", seen, want)
		}
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("watch saw %v, want %v", seen, want)
		}
	}
}

func TestDiscover(t *testing.T) {
	env := testenv.Require(t)
	c := env.Clients(t, "default")
	served, err := c.Discover(context.Background())
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	tests := []struct {
		group, kind string
		want        []string
	}{
		{kube.GroupSMISplit, "TrafficSplit", []string{"v1alpha2", "v1alpha1"}},
		{kube.GroupLinkerd, "ServiceProfile", []string{"v1alpha2", "v1alpha1"}},
		{kube.GroupGatewayAPI, "GRPCRoute", []string{"v1", "v1alpha2"}},
		{kube.GroupGatewayAPI, "Gateway", nil},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			got := served.Versions(tt.group, tt.kind)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("Versions(%s, %s) = %v, want %v", tt.group, tt.kind, got, tt.want)
			}
		})
	}
	if !served.HasGroup(kube.GroupLinkerdPolicy) || !served.Serves(kube.GroupLinkerdPolicy, "v1beta3", "HTTPRoute") {
		t.Errorf("policy.linkerd.io HTTPRoute v1beta3 not discovered")
	}
}
