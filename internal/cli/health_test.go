package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

func TestGaugesHandlerProbes(t *testing.T) {
	reg := prometheus.NewRegistry()
	canary.NewGauges(reg)
	srv := httptest.NewServer(gaugesHandler(reg))
	defer srv.Close()
	for _, tc := range []struct{ path, want string }{{"/healthz", "ok"}, {"/readyz", "ok"}, {"/metrics", ""}, {"/", ""}} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %q", tc.path, resp.StatusCode, b)
		}
	}
}

// TestControllerManifestProbes: the controller Deployment has liveness and readiness probes on
// the paths the controller serves, and a PodDisruptionBudget keeps one replica.
func TestControllerManifestProbes(t *testing.T) {
	data, err := readFileArg("../../deploy/trafficctl/controller.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	kinds := map[string]map[string]any{}
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds[doc["kind"].(string)] = doc
	}
	pdb, ok := kinds["PodDisruptionBudget"]
	if !ok || pdb["spec"].(map[string]any)["minAvailable"] != 1 {
		t.Fatalf("no PodDisruptionBudget with minAvailable 1: %v", pdb)
	}
	dep := kinds["Deployment"]
	c := dep["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		p, ok := c[probe].(map[string]any)
		if !ok || p["httpGet"].(map[string]any)["path"] != path {
			t.Errorf("%s: %v, want httpGet %s", probe, c[probe], path)
		}
	}
}
