package localk8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// PrometheusModuleVersion is the Prometheus release built from the Go module proxy when none is
// installed. Prometheus 3.x releases are published as v0.3xx module versions (v0.316.0 is
// Prometheus 3.16.0); the build has no web UI assets, which nothing here needs: tests, the
// sandbox and trafficctl only use its HTTP API.
const PrometheusModuleVersion = "v0.316.0"

// builtPrometheus is where EnsurePrometheus builds Prometheus: beside the API-server binaries,
// in the same cache, so that one cache holds every server the test bed runs.
func builtPrometheus() (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(dir), "prometheus-"+PrometheusModuleVersion, "prometheus"), nil
}

// EnsurePrometheus returns a Prometheus binary (see PrometheusBinary), building the pinned
// release from the Go module proxy into the cache first when none is installed. The build takes
// about 5 minutes on 2 cores; progress goes to log.
func EnsurePrometheus(ctx context.Context, log io.Writer) (string, error) {
	bin, err := PrometheusBinary()
	if err == nil || !errors.Is(err, ErrNoPrometheus) || os.Getenv("TRAFFICCTL_PROMETHEUS") != "" {
		return bin, err
	}
	out, err := builtPrometheus()
	if err != nil {
		return "", err
	}
	goBin, tmp, err := startBuild(filepath.Dir(out), "Prometheus (or install it: apt-get install prometheus)")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(log, "building Prometheus %s from the Go module proxy (first run only; takes ~5 min)...\n", PrometheusModuleVersion)
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "install", "-trimpath", "-ldflags", "-s -w",
		"github.com/prometheus/prometheus/cmd/prometheus@"+PrometheusModuleVersion)
	cmd.Dir = os.TempDir() // outside any module, so the install resolves the pinned version alone
	// Static (CGO_ENABLED=0): the binary runs wherever the cache is, and builds reuse the cache.
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build Prometheus %s: %w (or install it: apt-get install prometheus)", PrometheusModuleVersion, err)
	}
	if err := os.RemoveAll(filepath.Dir(out)); err != nil {
		return "", fmt.Errorf("replace %s: %w", filepath.Dir(out), err)
	}
	if err := os.Rename(tmp, filepath.Dir(out)); err != nil {
		return "", fmt.Errorf("install Prometheus into %s: %w", filepath.Dir(out), err)
	}
	fmt.Fprintf(log, "built Prometheus in %s\n", time.Since(start).Round(time.Second))
	return out, nil
}
