package generate

import (
	"context"
	"strings"
	"testing"
)

// TestCommittedFilesCurrent requires every committed generated file to match its generator.
func TestCommittedFilesCurrent(t *testing.T) {
	stale, err := Stale(context.Background(), "../../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Errorf("generated files are stale; run `make generate`:\n%s", strings.Join(stale, "\n"))
	}
}
