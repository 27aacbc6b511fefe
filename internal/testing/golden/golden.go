// Package golden compares what the code produces with files checked into the repository, in the
// style of linkerd2's golden tests: `go test ./pkg/x -update` rewrites the files from the current
// code, and the diff is reviewed like any other change.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden and generated files from the current code")

// Assert fails t unless got equals the file at path. Under -update it first writes got there,
// creating the directory.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run go test -run '%s' -update to create it): %v", path, t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the code produces (run go test -run '%s' -update if the change is intended):\n--- got\n%s\n--- want\n%s",
			path, t.Name(), got, want)
	}
}
