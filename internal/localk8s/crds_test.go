package localk8s

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuiltinCRDs writes the built-in CRD set (Linkerd's and the TrafficSplit CRD shipped with
// trafficctl, the Gateway API CRDs from the module) and checks each bundle holds the CRDs the
// product writes to, as API-server-ready apiextensions.k8s.io/v1 objects.
func TestBuiltinCRDs(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, err := writeBuiltinCRDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		"linkerd-crds.yaml":         {"serviceprofiles.linkerd.io", "servers.policy.linkerd.io", "httproutes.policy.linkerd.io", "authorizationpolicies.policy.linkerd.io"},
		"gateway-api-crds.yaml":     {"httproutes.gateway.networking.k8s.io", "grpcroutes.gateway.networking.k8s.io"},
		"smi-trafficsplit-crd.yaml": {"trafficsplits.split.smi-spec.io"},
	} {
		t.Run(file, func(t *testing.T) {
			objs, err := ReadObjects(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range objs {
				if o.GetAPIVersion() != "apiextensions.k8s.io/v1" || o.GetKind() != "CustomResourceDefinition" {
					t.Errorf("%s: %s %s, want apiextensions.k8s.io/v1 CustomResourceDefinition", o.GetName(), o.GetAPIVersion(), o.GetKind())
				}
				names = append(names, o.GetName())
			}
			for _, n := range want {
				if !slices.Contains(names, n) {
					t.Errorf("%s lacks %s (has %v)", file, n, names)
				}
			}
		})
	}
	again, err := writeBuiltinCRDs(context.Background())
	if err != nil || again != dir {
		t.Errorf("second call: %q, %v; want the cached %q", again, err, dir)
	}
}

func TestGatewayAPIVersionFollowsGoMod(t *testing.T) {
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if want := gatewayAPIModule + " " + gatewayAPIVersion + "\n"; !strings.Contains(string(b), want) {
		t.Errorf("go.mod does not require %q: update gatewayAPIVersion with the module", strings.TrimSpace(want))
	}
}
