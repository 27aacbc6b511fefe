// Command testenvctl builds the test binaries and starts or stops a local etcd + kube-apiserver
// (with the upstream CRDs) for humans; scripts/testenv.sh wraps it. Tests use internal/testing/testenv.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

const usage = `usage: testenvctl bins | up [DIR] | down [DIR]
  bins       build (once) and print the folder with etcd and kube-apiserver; also builds
             Prometheus from the Go module proxy when none is installed
  up [DIR]   start etcd + kube-apiserver on 127.0.0.1 with the upstream CRDs; prints export KUBECONFIG=...
  down [DIR] stop what up started (DIR defaults to ./.cache/testenv)`

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
		fmt.Println(filepath.Dir(b.APIServer))
		return nil
	case "up":
		return up(ctx, dir)
	case "down":
		if err := localk8s.StopDir(dir); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "stopped the servers recorded in %s\n", dir)
		return nil
	}
	return errors.New(usage)
}

func up(ctx context.Context, dir string) error {
	bins, err := localk8s.EnsureBinaries(ctx, os.Stderr)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	crds, err := localk8s.FindCRDs(ctx, wd)
	if err != nil {
		return err
	}
	c, err := localk8s.Start(ctx, localk8s.Options{Dir: dir, Binaries: bins, Lifetime: localk8s.Detached})
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
	fmt.Fprintf(os.Stderr, "kube-apiserver %s at %s with CRDs from %s; stop with: scripts/testenv.sh down\n", localk8s.KubeVersion, c.Server, crds)
	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig)
	return nil
}
