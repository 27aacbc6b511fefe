package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMain lets the test binary stand in for trafficctl: `sandbox up` re-executes its
// Executable as "trafficctl-sandbox-NAME sandbox serve-component --spec FILE".
func TestMain(m *testing.M) {
	if strings.HasPrefix(filepath.Base(os.Args[0]), procPrefix) && len(os.Args) == 5 {
		os.Exit(serveSpec(os.Args[4]))
	}
	os.Exit(m.Run())
}

func serveSpec(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var spec ComponentSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := Serve(ctx, spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
