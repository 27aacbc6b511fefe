// Command generate rewrites every committed generated file (run from the repository root;
// `make generate` runs it).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/trafficctl/trafficctl/internal/tools/generate"
)

func main() {
	written, err := generate.Write(context.Background(), ".")
	for _, p := range written {
		fmt.Println("wrote", p)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
