package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/ociimage"
	"github.com/trafficctl/trafficctl/internal/version"
)

// Option changes what Main prepares.
type Option func(*mainOptions)

type mainOptions struct{ node bool }

var options mainOptions

// WithNode makes the package's API server ready for a node (see localk8s.StartNode); the node
// itself starts on the first RequireNode. Only packages that run pods use it.
func WithNode() Option { return func(o *mainOptions) { o.node = true } }

// Node is the package's running node and the images imported into it.
type Node struct {
	*localk8s.Node
	// Tag is the tag of the project's images on the node: the test binary's version.Version,
	// which is also what `load job` uses by default.
	Tag string
	// Images maps each image reference (ociimage.TrafficctlImage(Tag), ...) to its tarball.
	Images map[string]string
}

var (
	nodeOnce sync.Once
	node     *Node
	nodeErr  error
)

// RequireNode returns the environment with a running node, starting it on first use (about 10 s
// once the images are built; building them takes minutes the first time). It skips under
// -short and skips (or fails, in CI) when the node cannot run here: not root, the Debian
// packages or node binaries missing.
func RequireNode(t testing.TB) *Env {
	t.Helper()
	env := Require(t)
	if !options.node {
		t.Fatalf("RequireNode: this package's TestMain must call testenv.Main(m, testenv.WithNode())")
	}
	nodeOnce.Do(func() { node, nodeErr = startNode() })
	if nodeErr != nil {
		Missing(t, "real node unavailable: %v", nodeErr)
	}
	env.Node = node
	return env
}

func startNode() (*Node, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a node needs root (containerd, CNI bridge, iptables)")
	}
	bins, err := localk8s.CachedNodeBinaries()
	if err != nil {
		return nil, err
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tag := version.Version
	built, err := ociimage.BuildSet(ctx, ociimage.SetOptions{Root: root, Out: filepath.Join(workDir, "images"), Version: tag, Revision: version.Get().GitCommit})
	if err != nil {
		return nil, fmt.Errorf("build images: %w", err)
	}
	n := &Node{Tag: tag, Images: map[string]string{}}
	var paths []string
	for _, b := range built {
		n.Images[b.Name] = b.Path
		paths = append(paths, b.Path)
	}
	start := time.Now()
	n.Node, err = localk8s.StartNode(ctx, cluster, localk8s.NodeOptions{Binaries: bins, Lifetime: localk8s.DieWithParent, Images: paths})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "testenv: node %s Ready %s after start (images: %d)\n", n.Name, time.Since(start).Round(100*time.Millisecond), len(paths))
	return n, nil
}

func stopNode() {
	if node != nil && node.Node != nil {
		if err := node.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stop node: %v\n", err)
		}
	}
}

// NodeNamespace creates a fresh namespace (as Namespace does) and waits until its default
// ServiceAccount exists, so that pods can be created in it at once.
func (e *Env) NodeNamespace(t testing.TB) string {
	t.Helper()
	ns := e.Namespace(t)
	c := e.Clients(t, ns)
	WaitFor(t, time.Minute, "the default ServiceAccount of "+ns, func(ctx context.Context) (bool, error) {
		_, err := c.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	return ns
}

// WaitFor polls cond every 250 ms until it returns true, failing the test after limit (use
// generous limits: these tests run on loaded 2-core machines).
func WaitFor(t testing.TB, limit time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", limit, what, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// PodSummary describes pods for a failure message: phase, readiness and the last state of each
// container.
func PodSummary(pods []corev1.Pod) string {
	s := ""
	for _, p := range pods {
		s += fmt.Sprintf("[%s %s", p.Name, p.Status.Phase)
		for _, cs := range p.Status.ContainerStatuses {
			s += fmt.Sprintf(" %s ready=%v restarts=%d", cs.Name, cs.Ready, cs.RestartCount)
			if w := cs.State.Waiting; w != nil {
				s += " waiting:" + w.Reason + " " + w.Message
			}
			if x := cs.State.Terminated; x != nil {
				s += fmt.Sprintf(" terminated:%s(%d)", x.Reason, x.ExitCode)
			}
		}
		s += "] "
	}
	return s
}
