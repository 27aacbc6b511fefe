package localk8s

import (
	"context"
	"crypto/sha256"
	_ "embed" // the pause image's source
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/trafficctl/trafficctl/internal/ociimage"
)

// The node's components come from one multi-call binary, kube-node, built from the wrapper
// module in modules/kube-node.* (go.mod, go.sum and two Go files stored as .txt so that they
// are not part of this module): kubelet, kube-controller-manager, kube-scheduler and kube-proxy
// at KubeVersion, dispatching on the name it is called by, plus cluster-dns.
//
// cluster-dns is a small DNS server written on github.com/miekg/dns that answers Service A
// records (<svc>.<ns>.svc.cluster.local: the ClusterIP, or a headless Service's ready endpoint
// addresses) from the API server, and NXDOMAIN for everything else. It stands in for CoreDNS:
// CoreDNS pulls in every cloud DNS provider's SDK through its plugin list, which would add
// minutes to a cold `make testbins` for a test node that only ever needs Service records.
var nodeModuleFiles = []string{"kube-node.go.mod", "kube-node.go.sum", "kube-node.main.go.txt", "kube-node.dns.go.txt"}

//go:embed pause/main.go
var pauseSource []byte

// PauseImage is the sandbox ("pause") image the node's containerd uses; StartNode imports it.
const PauseImage = "docker.io/trafficctl/pause:" + KubeVersion

// nodeCommands are the names kube-node answers to; each is a symlink to it in the cache.
var nodeCommands = []string{"kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy", "cluster-dns"}

// NodeBinaries are the node's programs: the ones built from the Go module proxy (cached) and
// the Debian packages' (containerd, runc, CNI plugins, iptables, ctr).
type NodeBinaries struct {
	// Dir holds kube-node, its command symlinks and the pause image tarball.
	Dir string
	// Pause is the pause image's OCI tarball.
	Pause string

	Containerd, Ctr, Runc, CNIDir string
}

// Path returns the path of one of kube-node's commands.
func (b NodeBinaries) Path(command string) string { return filepath.Join(b.Dir, command) }

// NodePackages are the Debian packages a node needs besides the binaries built here.
const NodePackages = "containerd runc containernetworking-plugins iptables iproute2"

// ErrNodePackages means a Debian package the node needs is not installed.
var ErrNodePackages = errors.New("node packages missing")

// SystemNodeBinaries finds containerd, ctr, runc, the CNI plugins, iptables and ip, or returns a
// one-line error naming the Debian packages to install.
func SystemNodeBinaries() (NodeBinaries, error) {
	var b NodeBinaries
	var missing []string
	for _, x := range []struct {
		dst       *string
		name, pkg string
	}{{&b.Containerd, "containerd", "containerd"}, {&b.Ctr, "ctr", "containerd"}, {&b.Runc, "runc", "runc"}, {nil, "iptables", "iptables"}, {nil, "ip", "iproute2"}} {
		p, err := exec.LookPath(x.name)
		if err != nil {
			missing = append(missing, x.pkg)
			continue
		}
		if x.dst != nil {
			*x.dst = p
		}
	}
	b.CNIDir = "/usr/lib/cni"
	for _, plugin := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(b.CNIDir, plugin)); err != nil {
			missing = append(missing, "containernetworking-plugins")
			break
		}
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("%w: install them with `apt-get install %s` (a node needs %s)", ErrNodePackages, strings.Join(dedupe(missing), " "), NodePackages)
	}
	return b, nil
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// NodeCacheDir is where kube-node and the pause image live: beside the API server's cache
// folder, keyed by the node module's own pin (so changing it does not rebuild the API server):
// $TRAFFICCTL_K8S_BIN_DIR/node when that is set.
func NodeCacheDir() (string, error) {
	if d := os.Getenv("TRAFFICCTL_K8S_BIN_DIR"); d != "" {
		return filepath.Join(d, "node"), nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w (set TRAFFICCTL_K8S_BIN_DIR)", err)
	}
	h := sha256.New()
	for _, name := range nodeModuleFiles {
		b, err := modules.ReadFile("modules/" + name)
		if err != nil {
			return "", fmt.Errorf("read embedded module %s: %w", name, err)
		}
		h.Write(b)
	}
	h.Write(pauseSource)
	h.Write([]byte(KubeVersion))
	return filepath.Join(base, "trafficctl", "k8s-bins", "node-"+hex.EncodeToString(h.Sum(nil))[:16]), nil
}

// CachedNodeBinaries returns the node's binaries when kube-node is built and the Debian
// packages are installed; the error wraps os.ErrNotExist when kube-node is not built yet, and
// ErrNodePackages when packages are missing.
func CachedNodeBinaries() (NodeBinaries, error) {
	b, err := SystemNodeBinaries()
	if err != nil {
		return b, err
	}
	dir, err := NodeCacheDir()
	if err != nil {
		return b, err
	}
	b.Dir, b.Pause = dir, filepath.Join(dir, "pause.oci.tar")
	for _, p := range append([]string{"kube-node", "pause.oci.tar"}, nodeCommands...) {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return b, fmt.Errorf("the node binaries are not built yet in %s (run `make testbins`): %w", dir, err)
		}
	}
	return b, nil
}

// EnsureNodeBinaries builds kube-node (kubelet, kube-controller-manager, kube-scheduler,
// kube-proxy, cluster-dns) and the pause image when they are not cached. The Debian packages are
// not required for building.
func EnsureNodeBinaries(ctx context.Context, log io.Writer) (NodeBinaries, error) {
	if b, err := CachedNodeBinaries(); err == nil || !errors.Is(err, os.ErrNotExist) {
		return b, err
	}
	dir, err := NodeCacheDir()
	if err != nil {
		return NodeBinaries{}, err
	}
	goBin, tmp, err := startBuild(dir, "the node binaries")
	if err != nil {
		return NodeBinaries{}, err
	}
	src := filepath.Join(tmp, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return NodeBinaries{}, err
	}
	for _, name := range nodeModuleFiles {
		b, err := modules.ReadFile("modules/" + name)
		if err != nil {
			return NodeBinaries{}, err
		}
		out := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(name, "kube-node."), "kube-node"), ".txt")
		if err := os.WriteFile(filepath.Join(src, out), b, 0o644); err != nil {
			return NodeBinaries{}, err
		}
	}
	fmt.Fprintf(log, "building kube-node (kubelet, kube-controller-manager, kube-scheduler, kube-proxy %s, cluster-dns) from the Go module proxy (first run only)...\n", KubeVersion)
	start := time.Now()
	ldflags := fmt.Sprintf("-s -w -X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34", KubeVersion)
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", ldflags, "-o", filepath.Join(tmp, "kube-node"), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return NodeBinaries{}, fmt.Errorf("build kube-node: %w", err)
	}
	fmt.Fprintf(log, "built kube-node in %s\n", time.Since(start).Round(time.Second))
	for _, c := range nodeCommands {
		if err := os.Symlink("kube-node", filepath.Join(tmp, c)); err != nil {
			return NodeBinaries{}, err
		}
	}
	if err := buildPause(ctx, tmp, log); err != nil {
		return NodeBinaries{}, err
	}
	if err := os.RemoveAll(src); err != nil {
		return NodeBinaries{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return NodeBinaries{}, fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return NodeBinaries{}, fmt.Errorf("install node binaries into %s: %w", dir, err)
	}
	b, err := CachedNodeBinaries()
	if errors.Is(err, ErrNodePackages) {
		b.Dir, b.Pause = dir, filepath.Join(dir, "pause.oci.tar")
		fmt.Fprintf(log, "note: %v\n", err)
		return b, nil
	}
	return b, err
}

// buildPause builds the pause program as a static binary and writes its image tarball.
func buildPause(ctx context.Context, dir string, log io.Writer) error {
	src := filepath.Join(dir, "pause-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module pause\n\ngo 1.24\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), pauseSource, 0o644); err != nil {
		return err
	}
	bin := filepath.Join(src, "pause")
	if err := ociimage.GoBuildStatic(ctx, src, ".", bin, "-s -w", log); err != nil {
		return err
	}
	img, err := ociimage.Build(ociimage.Spec{Name: PauseImage, Files: []ociimage.File{{Src: bin, Path: "/pause", Mode: 0o555}},
		Entrypoint: []string{"/pause"}, Version: KubeVersion})
	if err != nil {
		return err
	}
	return ociimage.WriteTarball(filepath.Join(dir, "pause.oci.tar"), PauseImage, img)
}
