// Package testenv gives integration tests real parts: an etcd + kube-apiserver on loopback with
// the upstream Linkerd, Gateway API and SMI CRDs installed, Prometheus, and headless Chromium.
//
// A test package opts in with
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// and each integration test calls testenv.Require(t). The API server starts on the first
// Require of the package (so unit-test-only runs pay nothing) and stops when the package's tests
// end; the kernel kills it if the test binary dies first (panic, timeout).
//
// Under `go test -short` these tests skip. With TRAFFICCTL_REQUIRE_INTEGRATION=1 (CI) a missing
// part fails the test instead of skipping it, so CI never goes green on skips.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// RequireEnv is the environment variable that turns skips for missing real parts into failures.
const RequireEnv = "TRAFFICCTL_REQUIRE_INTEGRATION"

// Env is the package's running API server.
type Env struct {
	// Config is an admin REST config.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig, for running the CLI with --kubeconfig.
	Kubeconfig string
	// CRDs is the directory the installed CRDs came from.
	CRDs string
	// EtcdURL is etcd's client URL (TLS with client certificates, see localk8s.Cluster).
	EtcdURL string
	// Node is the package's node, set by RequireNode (packages whose TestMain passes WithNode).
	Node *Node
}

var (
	once     sync.Once
	shared   *Env
	startErr error
	cluster  *localk8s.Cluster
	workDir  string
)

// Main runs the package's tests and stops the API server afterwards. Use it as the package's
// TestMain. WithNode prepares a node for the tests that call RequireNode.
func Main(m *testing.M, opts ...Option) {
	flag.Parse()
	for _, o := range opts {
		o(&options)
	}
	code := m.Run()
	stopNode()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stop API server: %v\n", err)
		}
	}
	if workDir != "" {
		_ = os.RemoveAll(workDir)
	}
	os.Exit(code)
}

// Require returns the running test environment, starting it on first use. It skips the test
// under -short, and skips (or, with TRAFFICCTL_REQUIRE_INTEGRATION=1, fails) when the binaries,
// CRDs or API server are unavailable.
func Require(t testing.TB) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short (run `make test` for the real API server)")
	}
	once.Do(func() { shared, startErr = start() })
	if startErr != nil {
		Missing(t, "real API server unavailable: %v", startErr)
	}
	return shared
}

// Missing skips the test because a real part is missing, or fails it when CI demands every part.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1 forbids skipping)", msg, RequireEnv)
	}
	t.Skip(msg)
}

func start() (*Env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bins, err := localk8s.CachedBinaries()
	if err != nil {
		return nil, fmt.Errorf("%w; build them with `make testbins` (about 6 minutes, once)", err)
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	crds, err := localk8s.FindCRDs(ctx, root)
	if err != nil {
		return nil, err
	}
	localk8s.CleanupStaleNode() // before its work directory goes
	removeStaleWorkDirs()
	workDir, err = os.MkdirTemp("", workDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create work dir: %w", err)
	}
	cluster, err = localk8s.Start(ctx, localk8s.Options{Dir: workDir, Binaries: bins, Lifetime: localk8s.DieWithParent, ForNode: options.node})
	if err != nil {
		return nil, err
	}
	c, err := kube.NewClientsForConfig(cluster.Config, "default", false, localk8s.ContextName)
	if err != nil {
		return nil, err
	}
	if err := localk8s.InstallCRDs(ctx, c, crds); err != nil {
		return nil, err
	}
	return &Env{Config: cluster.Config, Kubeconfig: cluster.Kubeconfig, CRDs: crds, EtcdURL: cluster.EtcdURL}, nil
}

const workDirPrefix = "trafficctl-testenv-"

// removeStaleWorkDirs deletes work directories of test binaries that died before their
// TestMain could clean up (a panic or timeout); the kernel already killed their servers.
func removeStaleWorkDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workDirPrefix+"*"))
	for _, d := range dirs {
		// A fresh directory may belong to a package that is starting its servers right now.
		if fi, err := os.Stat(d); err != nil || time.Since(fi.ModTime()) < 2*time.Minute {
			continue
		}
		if !localk8s.Running(d) {
			_ = os.RemoveAll(d)
		}
	}
}

// Clients returns trafficctl's clients for the environment with namespace as the default.
func (e *Env) Clients(t testing.TB, namespace string) *kube.Clients {
	t.Helper()
	c, err := kube.NewClientsForConfig(e.Config, namespace, namespace != "", localk8s.ContextName)
	if err != nil {
		t.Fatalf("build clients: %v", err)
	}
	return c
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a fresh namespace named after the test. Namespaces are not deleted: the
// test API server runs no namespace controller, and the server is thrown away anyway.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	base := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 50 {
		base = base[:50]
	}
	name := strings.Trim(base, "-") + "-" + hex.EncodeToString(suffix)
	c := e.Clients(t, "")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Kube.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// RepoRoot finds the repository root (the directory holding go.mod) from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// PromConfig describes what a test's Prometheus scrapes.
type PromConfig = localk8s.PromConfig

// StartPrometheus starts a real Prometheus for this test, scraping cfg.Targets, and stops it when
// the test ends. It skips (or fails, in CI) when Prometheus is not installed.
func StartPrometheus(t testing.TB, cfg PromConfig) *localk8s.Prometheus {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short (needs a real Prometheus)")
	}
	if cfg.Binary == "" {
		bin, err := localk8s.PrometheusBinary()
		if err != nil {
			Missing(t, "%v", err)
		}
		cfg.Binary = bin
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := localk8s.StartPrometheus(ctx, t.TempDir(), cfg)
	if err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stop prometheus: %v", err)
		}
	})
	return p
}

// Chromium returns the path of a headless-capable Chromium: $TRAFFICCTL_CHROMIUM, else
// `chromium` on PATH. It skips (or fails, in CI) when none is installed.
func Chromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	if p := os.Getenv("TRAFFICCTL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "chromium not found: install it (apt-get install chromium) or set TRAFFICCTL_CHROMIUM")
	return ""
}

// ChromiumArgs are the flags for a headless run that stays off the network, with its profile in
// userDataDir (use t.TempDir()). Append --screenshot=FILE, --dump-dom or a URL.
func ChromiumArgs(userDataDir string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + userDataDir,
	}
}
