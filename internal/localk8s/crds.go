package localk8s

import (
	"bufio"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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

// builtinCRDs are the two bundles no required Go module holds in a form the API server takes:
// Linkerd's CRDs (linkerd2 is not served by the Go module proxy), rendered from charts/linkerd-crds
// at edge-26.8 (commit b24cd40) with installGatewayAPI=false, and the TrafficSplit CRD of
// linkerd-smi's chart 1.0.4 (commit c0c39b1), which serves v1alpha1 and v1alpha2 as Linkerd does
// (smi-sdk-go's own crds/split.yaml is apiextensions v1beta1, refused since Kubernetes 1.22, and
// serves v1alpha4 only). scripts/fetch-crds.sh renders both again from upstream.
//
//go:embed crds/linkerd-crds.yaml crds/smi-trafficsplit-crd.yaml
var builtinCRDs embed.FS

// gatewayAPIModule is the Go module whose config/crd directory holds the Gateway API CRDs, at
// the version go.mod requires (TestGatewayAPIVersionFollowsGoMod keeps the two equal).
const (
	gatewayAPIModule  = "sigs.k8s.io/gateway-api"
	gatewayAPIVersion = "v1.4.1"
)

// FindCRDs returns the first directory holding all CRDFiles: $TRAFFICCTL_CRDS_DIR, then
// ../shared/crds beside the repository root, then the cache that scripts/fetch-crds.sh fills,
// and else the built-in set: Linkerd's and the TrafficSplit CRDs shipped with trafficctl and the
// Gateway API CRDs (experimental channel, a superset of standard) from the sigs.k8s.io/gateway-api
// module trafficctl is built with, written to the cache.
func FindCRDs(ctx context.Context, repoRoot string) (string, error) {
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
	dir, err := writeBuiltinCRDs(ctx)
	if err != nil {
		return "", fmt.Errorf("%w in %v, and the built-in set failed: %w: set TRAFFICCTL_CRDS_DIR, or run scripts/fetch-crds.sh where the network allows", ErrNoCRDs, candidates, err)
	}
	return dir, nil
}

// writeBuiltinCRDs writes the built-in CRD set into the cache, once per Gateway API version, and
// returns its directory.
func writeBuiltinCRDs(ctx context.Context) (string, error) {
	version := gatewayAPIVersion
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w", err)
	}
	dir := filepath.Join(cache, "trafficctl", "crds-builtin", "gateway-api-"+version)
	if hasAll(dir, CRDFiles) {
		return dir, nil
	}
	gw, err := gatewayAPICRDs(ctx, version)
	if err != nil {
		return "", err
	}
	tmp := dir + ".tmp"
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", tmp, err)
	}
	files := map[string][]byte{"gateway-api-crds.yaml": gw}
	for _, name := range []string{"linkerd-crds.yaml", "smi-trafficsplit-crd.yaml"} {
		if files[name], err = builtinCRDs.ReadFile("crds/" + name); err != nil {
			return "", fmt.Errorf("read built-in %s: %w", name, err)
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("replace %s: %w", dir, err)
	}
	return dir, os.Rename(tmp, dir)
}

// gatewayAPICRDs concatenates the experimental-channel CRDs of the Gateway API module at
// version, downloading the module through the Go toolchain when it is not in the module cache.
func gatewayAPICRDs(ctx context.Context, version string) ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("find the Gateway API CRDs in the module %s@%s: %w", gatewayAPIModule, version, ErrNoGo)
	}
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", gatewayAPIModule+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("download %s@%s: %w", gatewayAPIModule, version, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return nil, fmt.Errorf("locate %s@%s in the module cache: %v", gatewayAPIModule, version, err)
	}
	paths, err := filepath.Glob(filepath.Join(mod.Dir, "config", "crd", "experimental", "*.networking*.yaml"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no Gateway API CRDs in %s/config/crd/experimental", mod.Dir)
	}
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		all = append(append(all, "---\n"...), b...)
	}
	return all, nil
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
