// Command genproto regenerates emojivoto's Go protobuf code from deploy/emojivoto/api/proto
// into deploy/emojivoto/api/gen (run from the repository root; `make generate` runs it).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trafficctl/trafficctl/internal/tools/gogen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	files, err := gogen.Generate(context.Background(), gogen.EmojivotoProtoDir, gogen.EmojivotoProtos...)
	if err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(gogen.EmojivotoGenDir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
