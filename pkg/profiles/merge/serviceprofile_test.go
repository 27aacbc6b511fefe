package merge

import (
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/profiles/internal/profilestest"
)

func TestMerge(t *testing.T) {
	data, err := os.ReadFile("testdata/existing-serviceprofile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	existing, err := ReadServiceProfile("testdata/existing-serviceprofile.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	plan := profilestest.OpenAPIPlan(t, profilestest.Spec("emojivoto-web.yaml"), profilestest.Options())
	merged, changes := ServiceProfile(existing, plan.ServiceProfile())
	out, err := yaml.Marshal(merged)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/golden/serviceprofile.yaml", append([]byte("# "+strings.Join(changes, "\n# ")+"\n"), out...))
	if merged.Spec.Routes[0].Name != "vote-for-doughnut" {
		t.Errorf("hand-written route not kept first: %q", merged.Spec.Routes[0].Name)
	}
	if len(merged.Spec.DstOverrides) != 2 || merged.Spec.RetryBudget == nil || merged.Spec.RetryBudget.TTL != "20s" {
		t.Errorf("dstOverrides or retry budget lost: %+v", merged.Spec)
	}
	for _, r := range merged.Spec.Routes {
		if r.Name == "GET /api/old" {
			t.Error("route of a removed operation kept")
		}
	}
}

func TestIsGeneratedRouteName(t *testing.T) {
	for name, want := range map[string]bool{
		"GET /api/list":                       true,
		"TRACE /":                             true,
		"GET /items/{sku} #2":                 true,
		"/emojivoto.v1.EmojiService/ListAll":  true,
		"vote-for-doughnut":                   false,
		"get /api/list":                       false,
		"/emojivoto.v1.EmojiService/ListAll/": false,
	} {
		if got := IsGeneratedRouteName(name); got != want {
			t.Errorf("%q: %t, want %t", name, got, want)
		}
	}
}

func TestReadServiceProfileErrors(t *testing.T) {
	if _, err := ReadServiceProfile("x.yaml", []byte("kind: ConfigMap\n---\napiVersion: v1\n")); err == nil || !profiles.IsInputError(err) || !strings.Contains(err.Error(), "no ServiceProfile") {
		t.Errorf("got %v", err)
	}
	if _, err := ReadServiceProfile("x.yaml", []byte("kind: ServiceProfile\nspec: [")); err == nil || !profiles.IsInputError(err) {
		t.Errorf("got %v", err)
	}
}
