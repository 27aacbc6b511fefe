package deploy_test

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestWebOpenAPI validates the web API contract as OpenAPI 3 (schema, $refs, examples), so
// the routes generated from it come from a document any OpenAPI tool accepts.
func TestWebOpenAPI(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("emojivoto/api/web.openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("web.openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	for _, path := range []string{"/api/list", "/api/vote", "/api/leaderboard", "/"} {
		if doc.Paths.Find(path) == nil {
			t.Errorf("web.openapi.yaml lacks %s, which web serves", path)
		}
	}
}
