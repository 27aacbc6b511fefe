package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// corpusPlans are the plans of every corpus contract (OpenAPI and proto) for a namespace.
func corpusPlans(t *testing.T, ns string) map[string]*Plan {
	t.Helper()
	plans := map[string]*Plan{}
	for _, file := range corpusSpecs(t) {
		opts := testOptions()
		opts.Namespace = ns
		opts.Timeout = "3s"
		opts.RetryBudget = &RetryBudget{RetryRatio: 0.2, MinRetriesPerSecond: 10, TTL: "10s"}
		plan, err := NewPlan(loadCorpus(t, file, nil), opts)
		if err != nil {
			t.Fatal(err)
		}
		plans[filepath.Base(file)] = plan
	}
	plan, err := NewPlan(loadProtoCorpus(t), Options{Service: "emoji-svc", Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	plans["proto"] = plan
	return plans
}

func manifests(t *testing.T, plan *Plan) []map[string]any {
	t.Helper()
	var typed []any
	typed = append(typed, plan.ServiceProfile())
	ro := plan.RouteObjects()
	for _, r := range ro.HTTP {
		typed = append(typed, r)
	}
	for _, r := range ro.GRPC {
		typed = append(typed, r)
	}
	var out []map[string]any
	for _, o := range typed {
		m, err := Manifest(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// normalize puts a value through JSON so that numbers compare equal whatever decoded them.
func normalize(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCreateOnAPIServer: every generated object is accepted by a real API server with the
// upstream CRDs under strict field validation, and reads back as sent (no field dropped,
// pruned or defaulted differently).
func TestCreateOnAPIServer(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	clients := env.Clients(t, ns)
	for name, plan := range corpusPlans(t, ns) {
		// Each contract is for the same Service names: give each its own namespace.
		nsFor := env.Namespace(t)
		plan.Options.Namespace = nsFor
		t.Run(name, func(t *testing.T) {
			for _, m := range manifests(t, plan) {
				create(ctx, t, clients, &unstructured.Unstructured{Object: m})
			}
		})
	}
}

func create(ctx context.Context, t *testing.T, c *kube.Clients, u *unstructured.Unstructured) {
	t.Helper()
	ri, err := c.ResourceInterface(u)
	if err != nil {
		t.Fatal(err)
	}
	desc := kube.Describe(u)
	_, err = ri.Create(ctx, u, metav1.CreateOptions{FieldManager: kube.FieldManager, FieldValidation: metav1.FieldValidationStrict})
	if err != nil {
		t.Fatalf("create %s: %v", desc, err)
	}
	got, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", desc, err)
	}
	if want, have := normalize(t, u.Object["spec"]), normalize(t, got.Object["spec"]); !reflect.DeepEqual(want, have) {
		w, _ := json.MarshalIndent(want, "", " ")
		h, _ := json.MarshalIndent(have, "", " ")
		t.Errorf("%s reads back different:\n--- sent\n%s\n--- stored\n%s", desc, w, h)
	}
	md, _ := u.Object["metadata"].(map[string]any)
	for field, stored := range map[string]map[string]string{"labels": got.GetLabels(), "annotations": got.GetAnnotations()} {
		if want := md[field]; want != nil && !reflect.DeepEqual(normalize(t, want), normalize(t, stored)) {
			t.Errorf("%s: %s %v read back as %v", desc, field, want, stored)
		}
	}
}

// TestServerSideApplyLargeProfile: the --apply path (server-side apply, strict validation) for the
// Kubernetes-size profile, which client-side apply cannot store.
func TestServerSideApplyLargeProfile(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t)
	clients := env.Clients(t, ns)
	api := &API{}
	for _, file := range corpusSpecs(t) {
		api.Operations = append(api.Operations, loadCorpus(t, file, nil).Operations...)
	}
	// Repeat the corpus under distinct base paths up to the Kubernetes API's ~1,060 routes.
	var ops []Operation
	for i := 0; len(ops) < 1060; i++ {
		for _, op := range api.Operations {
			prefix := fmt.Sprintf("p%d", i)
			op.Path = "/" + prefix + op.Path
			op.Segments = append([]Segment{{{Literal: prefix}}}, op.Segments...)
			ops = append(ops, op)
		}
	}
	plan, err := NewPlan(&API{Operations: ops}, Options{Service: "big", Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Manifest(plan.ServiceProfile())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients.Apply(context.Background(), &unstructured.Unstructured{Object: m}, kube.ApplyOptions{}); err != nil {
		t.Fatalf("server-side apply of %d routes: %v", len(plan.Routes), err)
	}
}

// TestLinkerdValidation runs Linkerd's own ServiceProfile validation (linkerd-profile-ref
// validate, built from ../shared/tools/linkerd-profile-ref) on every generated profile.
func TestLinkerdValidation(t *testing.T) {
	ref := os.Getenv("TRAFFICCTL_LINKERD_PROFILE_REF")
	if ref == "" {
		if os.Getenv(testenv.RequireEnv) == "1" {
			t.Fatal("TRAFFICCTL_LINKERD_PROFILE_REF is not set: build ../shared/tools/linkerd-profile-ref and point it there")
		}
		t.Skip("TRAFFICCTL_LINKERD_PROFILE_REF not set: skipping Linkerd's own ServiceProfile validation (build ../shared/tools/linkerd-profile-ref)")
	}
	dir := t.TempDir()
	for name, plan := range corpusPlans(t, "demo") {
		t.Run(name, func(t *testing.T) {
			data, err := yamlOf(plan.ServiceProfile())
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, name+".yaml")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(ref, "validate", file).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "1 ServiceProfile(s) valid") {
				t.Errorf("linkerd validation: %v\n%s", err, out)
			}
		})
	}
}
