package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// kustomizeBuild runs `kustomize build dir` in-process.
func kustomizeBuild(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	y, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: encode: %v", dir, err)
	}
	objs, err := localk8s.DecodeObjects(bytes.NewReader(y))
	if err != nil {
		t.Fatalf("kustomize build %s: decode: %v", dir, err)
	}
	if len(objs) == 0 {
		t.Fatalf("kustomize build %s: no objects", dir)
	}
	return objs
}

// dryRunApply server-side applies objs with dryRun=All and strict field validation, after
// creating for real every namespace they live in (a dry-run create in a missing namespace is
// refused) and every Namespace object among them. It reports each refused object.
func dryRunApply(t *testing.T, env *testenv.Env, objs []*unstructured.Unstructured) {
	t.Helper()
	errs := dryRunErrors(t, env, "", objs)
	for _, err := range errs {
		t.Errorf("server-side dry-run: %v", err)
	}
	t.Logf("server-side dry-run: %d objects, %d refused", len(objs), len(errs))
}

// dryRunErrors is dryRunApply returning the refusals instead of reporting them. Namespaced
// objects that name no namespace (as `helm template` leaves some) go to defaultNS.
func dryRunErrors(t *testing.T, env *testenv.Env, defaultNS string, objs []*unstructured.Unstructured) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := env.Clients(t, defaultNS)
	namespaces := map[string]bool{}
	if defaultNS != "" {
		ensureNamespace(ctx, t, c, defaultNS)
		namespaces[defaultNS] = true
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			if _, err := c.Apply(ctx, o.DeepCopy(), kube.ApplyOptions{DryRun: kube.DryRunNone, ForceConflicts: true}); err != nil {
				t.Fatalf("create %s: %v", kube.Describe(o), err)
			}
			namespaces[o.GetName()] = true
		}
	}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && !namespaces[ns] {
			ensureNamespace(ctx, t, c, ns)
			namespaces[ns] = true
		}
	}
	var errs []error
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
			continue
		}
		if _, err := c.Apply(ctx, o.DeepCopy(), kube.ApplyOptions{DryRun: kube.DryRunServer}); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func ensureNamespace(ctx context.Context, t *testing.T, c *kube.Clients, name string) {
	t.Helper()
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	}}
	_, err := c.Apply(ctx, ns, kube.ApplyOptions{DryRun: kube.DryRunNone, ForceConflicts: true})
	if err != nil && !errors.Is(err, kube.ErrConflict) && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}
