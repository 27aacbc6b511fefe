package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/internal/sandbox"
)

type sandboxServeOptions struct {
	genericiooptions.IOStreams
	specFile string

	spec sandbox.ComponentSpec
}

// newSandboxServeCommand is the hidden entry point of the sandbox's own processes: `sandbox up`
// re-executes trafficctl with it for each demo app replica and the data plane.
func newSandboxServeCommand(f *Factory) *cobra.Command {
	o := &sandboxServeOptions{IOStreams: f.Streams}
	cmd := &cobra.Command{
		Use:    "serve-component",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   runOptions(o),
	}
	cmd.Flags().StringVar(&o.specFile, "spec", "", "component spec file written by sandbox up")
	return cmd
}

func (o *sandboxServeOptions) Complete(*cobra.Command, []string) error { return nil }

func (o *sandboxServeOptions) Validate() error {
	b, err := readFileArg(o.specFile)
	if err != nil {
		return usageErrorf("read component spec: %v", err)
	}
	if err := json.Unmarshal(b, &o.spec); err != nil {
		return usageErrorf("component spec %s: %v", o.specFile, err)
	}
	return nil
}

func (o *sandboxServeOptions) Run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	start := time.Now()
	err := sandbox.Serve(ctx, o.spec)
	fmt.Fprintf(o.ErrOut, "%s stopped after %s\n", o.spec.Name, time.Since(start).Round(time.Second))
	return err
}
