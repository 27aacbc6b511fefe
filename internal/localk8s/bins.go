// Package localk8s runs a real Kubernetes API server and etcd on 127.0.0.1, built from the Go
// module proxy, for integration tests, `scripts/testenv.sh` and the sandbox. It also installs
// the upstream CRDs and starts Prometheus (the Debian package) with a given scrape config.
package localk8s

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// KubeVersion is the kube-apiserver release the wrapper module pins.
const KubeVersion = "v1.34.4"

// modules holds the pinned wrapper modules (go.mod + go.sum) that build etcd and
// kube-apiserver: both upstream modules carry replace directives, so `go install mod@version`
// cannot build them, but a wrapper module that requires them can. They are stored as plain
// files because a directory with a go.mod would be a module of its own and cannot be embedded.
//
//go:embed modules
var modules embed.FS

// Binaries are the paths of the two server binaries.
type Binaries struct {
	Etcd      string
	APIServer string
}

// ErrNoGo means the binaries are not cached and there is no Go toolchain to build them.
var ErrNoGo = errors.New("go toolchain not found")

// CacheDir returns where binaries for the pinned versions live:
// $TRAFFICCTL_K8S_BIN_DIR when set, else ${XDG_CACHE_HOME:-~/.cache}/trafficctl/k8s-bins/<key>.
func CacheDir() (string, error) {
	if d := os.Getenv("TRAFFICCTL_K8S_BIN_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w (set TRAFFICCTL_K8S_BIN_DIR)", err)
	}
	key, err := pinKey()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "trafficctl", "k8s-bins", key), nil
}

func pinKey() (string, error) {
	h := sha256.New()
	for _, name := range []string{"etcd.go.mod", "etcd.go.sum", "kube-apiserver.go.mod", "kube-apiserver.go.sum"} {
		b, err := modules.ReadFile("modules/" + name)
		if err != nil {
			return "", fmt.Errorf("read embedded module %s: %w", name, err)
		}
		h.Write(b)
	}
	h.Write([]byte(KubeVersion))
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// CachedBinaries returns the cached binaries, or an error wrapping os.ErrNotExist when they have
// not been built yet.
func CachedBinaries() (Binaries, error) {
	dir, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{Etcd: filepath.Join(dir, "etcd"), APIServer: filepath.Join(dir, "kube-apiserver")}
	for _, p := range []string{b.Etcd, b.APIServer} {
		if _, err := os.Stat(p); err != nil {
			return Binaries{}, fmt.Errorf("kube-apiserver and etcd are not built yet in %s: %w", dir, err)
		}
	}
	return b, nil
}

// EnsureBinaries returns the cached binaries, building them first when missing. A cold build
// takes about 1 minute for etcd and 5 minutes for kube-apiserver on 2 cores (2 GB of RAM);
// progress goes to log.
func EnsureBinaries(ctx context.Context, log io.Writer) (Binaries, error) {
	if b, err := CachedBinaries(); err == nil {
		return b, nil
	}
	dir, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	goBin, tmp, err := startBuild(dir, "kube-apiserver and etcd")
	if err != nil {
		return Binaries{}, err
	}
	builds := []struct{ module, pkg, out, ldflags string }{
		{"etcd", "go.etcd.io/etcd/server/v3", "etcd", "-s -w"},
		{"kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver",
			// Without these the server reports a placeholder version, which discovery clients trip on.
			fmt.Sprintf("-s -w -X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34", KubeVersion)},
	}
	for _, b := range builds {
		src := filepath.Join(tmp, "src", b.module)
		if err := writeModule(src, b.module); err != nil {
			return Binaries{}, err
		}
		fmt.Fprintf(log, "building %s from the Go module proxy (first run only; kube-apiserver takes ~5 min)...\n", b.module)
		start := time.Now()
		cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", b.ldflags, "-o", filepath.Join(tmp, b.out), b.pkg)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return Binaries{}, fmt.Errorf("build %s: %w", b.module, err)
		}
		fmt.Fprintf(log, "built %s in %s\n", b.module, time.Since(start).Round(time.Second))
	}
	if err := os.RemoveAll(filepath.Join(tmp, "src")); err != nil {
		return Binaries{}, fmt.Errorf("clean build sources: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return Binaries{}, fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return Binaries{}, fmt.Errorf("install binaries into %s: %w", dir, err)
	}
	return CachedBinaries()
}

func writeModule(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, suffix := range []string{"mod", "sum"} {
		b, err := modules.ReadFile("modules/" + name + ".go." + suffix)
		if err != nil {
			return fmt.Errorf("read embedded module %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "go."+suffix), b, 0o644); err != nil {
			return fmt.Errorf("write %s module: %w", name, err)
		}
	}
	return nil
}

// startBuild finds the Go toolchain for building what into dir, and empties dir's staging
// directory (dir.tmp), which the caller renames to dir once everything is built.
func startBuild(dir, what string) (goBin, tmp string, err error) {
	goBin, err = exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("build %s: %w: install Go 1.26+", what, ErrNoGo)
	}
	tmp = dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", "", fmt.Errorf("clean %s: %w", tmp, err)
	}
	return goBin, tmp, nil
}
