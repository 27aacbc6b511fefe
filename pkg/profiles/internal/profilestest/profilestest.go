// Package profilestest plans pkg/profiles' test corpus (pkg/profiles/testdata) for the tests of
// the packages built on pkg/profiles (merge, lint). pkg/profiles' own tests keep their helpers:
// they are in package profiles, which this package imports.
package profilestest

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/trafficctl/trafficctl/pkg/profiles"
)

// Testdata is the path of pkg/profiles/testdata, found from this file so that tests in any
// directory can use it.
var Testdata = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}()

// Options are the options the corpus is planned with: the Service web in namespace demo.
func Options() profiles.Options { return profiles.Options{Service: "web", Namespace: "demo"} }

// Specs are the paths of the corpus' OpenAPI documents.
func Specs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Testdata, "specs", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in %s: %v", Testdata, err)
	}
	return files
}

// OpenAPIPlan plans the OpenAPI document at path (Specs, or Spec(name)).
func OpenAPIPlan(t testing.TB, path string, opts profiles.Options) *profiles.Plan {
	t.Helper()
	ctx := context.Background()
	data, err := profiles.ReadSource(ctx, path, nil, nil)
	if err == nil {
		var api *profiles.API
		if api, err = profiles.ParseOpenAPI(ctx, path, data, profiles.OpenAPIOptions{AllowExternalRefs: true}); err == nil {
			return plan(t, api, opts)
		}
	}
	t.Fatalf("%s: %v", path, err)
	return nil
}

// Spec is the path of the corpus' OpenAPI document name (e.g. "emojivoto-web.yaml").
func Spec(name string) string { return filepath.Join(Testdata, "specs", name) }

// ProtoPlan plans the emojivoto gRPC services (emojivoto/v1/{emoji,voting}.proto) and the
// legacy package-less emoji.proto of the corpus.
func ProtoPlan(t testing.TB, opts profiles.Options) *profiles.Plan {
	t.Helper()
	dir := filepath.Join(Testdata, "proto")
	files := []string{"emojivoto/v1/emoji.proto", "emojivoto/v1/voting.proto", "legacy/emoji.proto"}
	for i := range files {
		files[i] = filepath.Join(dir, files[i])
	}
	api, err := profiles.ParseProto(context.Background(), files, profiles.ProtoOptions{ImportPaths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	return plan(t, api, opts)
}

func plan(t testing.TB, api *profiles.API, opts profiles.Options) *profiles.Plan {
	t.Helper()
	p, err := profiles.NewPlan(api, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
