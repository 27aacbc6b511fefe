// Package fresh_test runs the README's first commands the way a new user meets them: from a
// clean clone, with no Prometheus on PATH, no ../shared beside the clone and an empty trafficctl
// cache but for the API-server binaries (linked in: rebuilding them costs minutes and is what
// `make testbins` already proves). Go's own caches stay, as on a machine that has built Go before.
package fresh_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestReadmeCommandsFromCleanClone runs `make testbins` (the set-up `make test` does first) and
// `make demo` from a clean clone: Prometheus is built from the Go module proxy into the cache
// and the CRDs come from the project and its modules.
func TestReadmeCommandsFromCleanClone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Prometheus and runs the demo: not in -short")
	}
	bins, err := localk8s.CachedBinaries()
	if err != nil {
		testenv.Missing(t, "%v; build them with `make testbins`", err)
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	clone := filepath.Join(tmp, "trafficctl")
	run(t, root, nil, 2*time.Minute, "git", "clone", "--quiet", "--no-hardlinks", root, clone)
	env := freshEnv(t, tmp, filepath.Dir(bins.APIServer))

	out := run(t, clone, env, 25*time.Minute, "make", "testbins")
	if !strings.Contains(out, "building Prometheus") || !strings.Contains(out, "built Prometheus in") {
		t.Errorf("make testbins did not build Prometheus with no Prometheus on PATH:\n%s", out)
	}
	out = run(t, clone, append(env, "DEMO_SCALE=0.6", "DEMO_OUT="+filepath.Join(tmp, "demo")), 10*time.Minute, "make", "demo")
	for _, want := range []string{"crds-builtin", "canary run 1: RolledBack", "canary run 2: Promoted", "demo finished in", "Run it again"} {
		if !strings.Contains(out, want) {
			t.Errorf("make demo output lacks %q:\n%s", want, out)
		}
	}
}

// freshEnv is the environment of a machine that has Go and nothing of trafficctl's: PATH without
// Prometheus, a new cache holding only the API-server binaries, no CRD or Prometheus overrides.
func freshEnv(t *testing.T, tmp, binDir string) []string {
	t.Helper()
	cache := filepath.Join(tmp, "cache")
	key := filepath.Base(binDir)
	if err := os.MkdirAll(filepath.Join(cache, "trafficctl", "k8s-bins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binDir, filepath.Join(cache, "trafficctl", "k8s-bins", key)); err != nil {
		t.Fatal(err)
	}
	goEnv := func(name string) string {
		b, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(b))
	}
	env := []string{"PATH=" + pathWithout(t, filepath.Join(tmp, "path"), "prometheus"), "XDG_CACHE_HOME=" + cache,
		"GOCACHE=" + goEnv("GOCACHE"), "GOMODCACHE=" + goEnv("GOMODCACHE")}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PATH" || name == "XDG_CACHE_HOME" || name == "GOCACHE" || name == "GOMODCACHE":
		case strings.HasPrefix(name, "TRAFFICCTL_"), name == "KUBECONFIG":
		default:
			env = append(env, kv)
		}
	}
	return env
}

// pathWithout builds a PATH of one directory holding links to every program on the current PATH
// but the hidden one.
func pathWithout(t *testing.T, dir, hidden string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		entries, err := os.ReadDir(p)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.Name() == hidden || e.IsDir() {
				continue
			}
			// The first directory on PATH wins, as for the shell; later ones fail with EEXIST.
			_ = os.Symlink(filepath.Join(p, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	if _, err := exec.LookPath(filepath.Join(dir, hidden)); err == nil {
		t.Fatalf("%s is still on the test PATH", hidden)
	}
	return dir
}

func run(t *testing.T, dir string, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s: %s", name, strings.Join(args, " "), time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
