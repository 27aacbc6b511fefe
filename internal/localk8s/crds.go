package localk8s

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// CRDFiles are the upstream CRD bundles trafficctl needs (see scripts/fetch-crds.sh for their
// pinned sources).
var CRDFiles = []string{"linkerd-crds.yaml", "gateway-api-crds.yaml", "smi-trafficsplit-crd.yaml"}

// ErrNoCRDs means none of the places CRDs are looked for has them.
var ErrNoCRDs = errors.New("upstream CRDs not found")

// FindCRDs returns the first directory holding all CRDFiles: $TRAFFICCTL_CRDS_DIR, then
// ../shared/crds beside the repository root, then the cache that scripts/fetch-crds.sh fills.
func FindCRDs(repoRoot string) (string, error) {
	var candidates []string
	if d := os.Getenv("TRAFFICCTL_CRDS_DIR"); d != "" {
		candidates = append(candidates, d)
	}
	if repoRoot != "" {
		candidates = append(candidates, filepath.Join(repoRoot, "..", "shared", "crds"))
	}
	if cache, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(cache, "trafficctl", "crds"))
	}
	for _, d := range candidates {
		if hasAll(d, CRDFiles) {
			return filepath.Abs(d)
		}
	}
	return "", fmt.Errorf("%w in %v: set TRAFFICCTL_CRDS_DIR, or run scripts/fetch-crds.sh where the network allows", ErrNoCRDs, candidates)
}

func hasAll(dir string, files []string) bool {
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs server-side applies every CRD in dir's CRDFiles and waits until all are
// established and served.
func InstallCRDs(ctx context.Context, c *kube.Clients, dir string) error {
	var names []string
	for _, f := range CRDFiles {
		objs, err := ReadObjects(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		for _, o := range objs {
			if _, err := c.Apply(ctx, o, kube.ApplyOptions{DryRun: kube.DryRunNone, ForceConflicts: true}); err != nil {
				return fmt.Errorf("install CRDs from %s: %w", f, err)
			}
			names = append(names, o.GetName())
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range names {
		for {
			crd, err := c.Dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err == nil && established(crd) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established after 30s: %v", name, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	c.Mapper.Reset()
	return nil
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	return slices.ContainsFunc(conds, func(c any) bool {
		m, ok := c.(map[string]any)
		return ok && m["type"] == "Established" && m["status"] == "True"
	})
}

// ReadObjects decodes every object in a multi-document YAML or JSON file, skipping empty
// documents.
func ReadObjects(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	objs, err := DecodeObjects(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return objs, nil
}

// DecodeObjects decodes every object in a multi-document YAML or JSON stream.
func DecodeObjects(r io.Reader) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReader(r), 4096)
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}
