package merge

import (
	"context"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/profiles/internal/profilestest"
)

// TestMergedRoutesOnAPIServer: the merge of each edited fixture passes the API server's
// validation (upstream Gateway API CRDs, strict fields) in a server-side dry run.
func TestMergedRoutesOnAPIServer(t *testing.T) {
	env := testenv.Require(t)
	tests := []struct {
		name, file, fixtureNS string
		routes                func(ns string) *profiles.RouteObjects
	}{
		{"httproutes", "testdata/existing-httproutes.yaml", "demo", func(ns string) *profiles.RouteObjects {
			opts := profilestest.Options()
			opts.Namespace = ns
			plan := profilestest.OpenAPIPlan(t, profilestest.Spec("emojivoto-web.yaml"), opts)
			return plan.RouteObjects()
		}},
		{"grpcroutes", "testdata/existing-grpcroutes.yaml", "emojivoto", func(ns string) *profiles.RouteObjects {
			plan := profilestest.ProtoPlan(t, profiles.Options{Service: "emoji-svc", Namespace: ns, Timeout: "1s"})
			return plan.RouteObjects()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			clients := env.Clients(t, ns)
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.ReplaceAll(string(data), "namespace: "+tc.fixtureNS, "namespace: "+ns))
			existing, err := ReadRouteObjects(tc.file, data)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Routes(existing, tc.routes(ns))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range m.Objects {
				u := &unstructured.Unstructured{Object: o}
				if _, err := clients.Apply(context.Background(), u, kube.ApplyOptions{DryRun: kube.DryRunServer}); err != nil {
					t.Errorf("server dry run of merged %s: %v", kube.Describe(u), err)
				}
			}
		})
	}
}

// TestMergeRoundTrip: routes applied to the cluster and read back as `kubectl get -o yaml`
// prints them (server-set metadata, defaults, status) merge with the same contract into the
// generated objects, with no change reported; the merge then applies again.
func TestMergeRoundTrip(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	clients := env.Clients(t, ns)
	opts := profilestest.Options()
	opts.Namespace = ns
	plan := profilestest.OpenAPIPlan(t, profilestest.Spec("adversarial.yaml"), opts)
	ro := plan.RouteObjects()
	generated, _, err := generatedManifests(ro)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range generated {
		if _, err := clients.Apply(ctx, &unstructured.Unstructured{Object: clone(o).(map[string]any)}, kube.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := clients.Dynamic.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	list.SetAPIVersion("v1")
	list.SetKind("List")
	data, err := list.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if data, err = yaml.JSONToYAML(data); err != nil {
		t.Fatal(err)
	}
	existing, err := ReadRouteObjects("kubectl-get.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Routes(existing, ro)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Changes) != 0 {
		t.Errorf("merging what the server stored reports changes:\n%s", strings.Join(m.Changes, "\n"))
	}
	if len(m.Objects) != len(generated) {
		t.Fatalf("%d objects, want the %d generated", len(m.Objects), len(generated))
	}
	for _, o := range m.Objects {
		want := findObject(generated, asString(o["kind"]), objectName(o))
		if !sameJSON(o, want) {
			got, _ := yaml.Marshal(o)
			w, _ := yaml.Marshal(want)
			t.Errorf("merged %s differs from the generated one:\n--- merged\n%s--- generated\n%s", objectName(o), got, w)
		}
		if _, err := clients.Apply(ctx, &unstructured.Unstructured{Object: o}, kube.ApplyOptions{}); err != nil {
			t.Errorf("apply merged %s: %v", objectName(o), err)
		}
	}
}
