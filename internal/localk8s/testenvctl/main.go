// Command testenvctl builds the test binaries and starts or stops a local etcd + kube-apiserver
// (with the upstream CRDs), optionally with a real node, for humans; scripts/testenv.sh wraps
// it, and `make testbins` / `make images` call it. Tests use internal/testing/testenv.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/ociimage"
	"github.com/trafficctl/trafficctl/internal/version"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

const usage = `usage: testenvctl bins | up [--node] [DIR] | down [DIR] | images [OUT]
  bins          build (once) and print the folder with etcd and kube-apiserver; also builds
                Prometheus from the Go module proxy when none is installed, the node binaries
                (kubelet, kube-controller-manager, kube-scheduler, kube-proxy, cluster-dns in one
                kube-node binary) and the pause image
  up [DIR]      start etcd + kube-apiserver on 127.0.0.1 with the upstream CRDs; prints export KUBECONFIG=...
  up --node     the same plus a real node (containerd, kubelet, ...; needs root and the Debian
                packages containerd runc containernetworking-plugins iptables), with this checkout's
                images built and every image in dist/images (make images) imported
  down [DIR]    stop what up started (DIR defaults to ./.cache/testenv)
  images [OUT]  build the OCI image tarballs (trafficctl, demo app) into OUT (default dist/images)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenvctl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	node := false
	if len(args) > 1 && args[0] == "up" && args[1] == "--node" {
		node = true
		args = append([]string{"up"}, args[2:]...)
	}
	if len(args) == 0 || len(args) > 2 {
		return errors.New(usage)
	}
	dir := filepath.Join(".cache", "testenv")
	if len(args) == 2 {
		dir = args[1]
	}
	switch args[0] {
	case "bins":
		b, err := localk8s.EnsureBinaries(ctx, os.Stderr)
		if err != nil {
			return err
		}
		if _, err := localk8s.EnsurePrometheus(ctx, os.Stderr); err != nil {
			return err
		}
		nb, err := localk8s.EnsureNodeBinaries(ctx, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Println(filepath.Dir(b.APIServer))
		fmt.Println(nb.Dir)
		return nil
	case "up":
		return up(ctx, dir, node)
	case "images":
		out := filepath.Join("dist", "images")
		if len(args) == 2 {
			out = args[1]
		}
		_, err := buildImages(ctx, out)
		return err
	case "down":
		if err := localk8s.StopNodeDir(filepath.Join(dir, "node")); err != nil {
			return err
		}
		if err := localk8s.StopDir(dir); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "stopped the servers recorded in %s\n", dir)
		return nil
	}
	return errors.New(usage)
}

func buildImages(ctx context.Context, out string) ([]ociimage.Built, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	revision := version.Get().GitCommit
	if revision == "" {
		if b, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
			revision = strings.TrimSpace(string(b))
		}
	}
	return ociimage.BuildSet(ctx, ociimage.SetOptions{Root: wd, Out: out, Version: version.Version, Revision: revision, Log: os.Stderr})
}

func up(ctx context.Context, dir string, node bool) error {
	bins, err := localk8s.EnsureBinaries(ctx, os.Stderr)
	if err != nil {
		return err
	}
	var nodeBins localk8s.NodeBinaries
	if node {
		if nodeBins, err = localk8s.EnsureNodeBinaries(ctx, os.Stderr); err != nil {
			return err
		}
		if _, err := localk8s.SystemNodeBinaries(); err != nil {
			return err
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	crds, err := localk8s.FindCRDs(ctx, wd)
	if err != nil {
		return err
	}
	c, err := localk8s.Start(ctx, localk8s.Options{Dir: dir, Binaries: bins, Lifetime: localk8s.Detached, ForNode: node})
	if err != nil {
		return err
	}
	clients, err := kube.NewClientsForConfig(c.Config, "default", false, localk8s.ContextName)
	if err == nil {
		err = localk8s.InstallCRDs(ctx, clients, crds)
	}
	if err != nil {
		_ = c.Stop()
		return err
	}
	if node {
		// Build this checkout's images, then import every tarball in dist/images (also those of
		// an earlier `make images VERSION=...`).
		if _, err := buildImages(ctx, filepath.Join("dist", "images")); err != nil {
			_ = c.Stop()
			return err
		}
		paths, _ := filepath.Glob(filepath.Join("dist", "images", "*.oci.tar"))
		nb, _ := localk8s.SystemNodeBinaries()
		nb.Dir, nb.Pause = nodeBins.Dir, nodeBins.Pause
		n, err := localk8s.StartNode(ctx, c, localk8s.NodeOptions{Binaries: nb, Lifetime: localk8s.Detached, Images: paths, Log: os.Stderr})
		if err != nil {
			_ = c.Stop()
			return err
		}
		fmt.Fprintf(os.Stderr, "node %s Ready: pods on %s, images %s imported\n", n.Name, n.PodCIDR, strings.Join(paths, ", "))
	}
	fmt.Fprintf(os.Stderr, "kube-apiserver %s at %s with CRDs from %s; stop with: scripts/testenv.sh down\n", localk8s.KubeVersion, c.Server, crds)
	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig)
	return nil
}
