package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/internal/sandbox"
	"github.com/trafficctl/trafficctl/internal/sandbox/proxy"
)

var (
	sandboxUpShort   = "Start the sandbox (stopping one left running first)"
	sandboxUpExample = `  trafficctl sandbox up
  export KUBECONFIG=~/.cache/trafficctl/sandbox/k8s/kubeconfig
  trafficctl sandbox up --web-port 8080 --replicas 2 --balance round-robin`
)

type sandboxUpOptions struct {
	genericiooptions.IOStreams
	o       sandbox.Options
	balance string
	output  string
}

func newSandboxUpCommand(f *Factory) *cobra.Command {
	o := &sandboxUpOptions{IOStreams: f.Streams, o: sandbox.Options{Replicas: sandbox.DefaultReplicas}, balance: string(proxy.BalanceEWMA)}
	cmd := newSandboxDirCommand("up", sandboxUpShort, sandboxUpExample, o, &o.o.Dir)
	cmd.Flags().StringVar(&o.o.PrometheusBin, "prometheus-bin", "", "Prometheus binary (default: $TRAFFICCTL_PROMETHEUS, else prometheus on PATH)")
	cmd.Flags().StringVar(&o.o.CRDs, "crds", "", "directory of the upstream CRD bundles (default: $TRAFFICCTL_CRDS_DIR, ../shared/crds, the fetch-crds cache)")
	cmd.Flags().IntVar(&o.o.Replicas, "replicas", o.o.Replicas, "processes per web version (1-10)")
	cmd.Flags().IntVar(&o.o.WebPort, "web-port", 0, "127.0.0.1 port of web-svc (0 picks a free port)")
	cmd.Flags().StringVar(&o.balance, "balance", o.balance, "replica balancing of the data plane: ewma or round-robin")
	cmd.Flags().StringVar(&o.o.OTLPEndpoint, "otlp-endpoint", "", "host:port of an OTLP/HTTP trace collector (e.g. 127.0.0.1:4318) the demo app sends spans to")
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func (o *sandboxUpOptions) Complete(*cobra.Command, []string) error {
	o.o.Log = o.ErrOut
	return nil
}

func (o *sandboxUpOptions) Validate() error {
	if o.o.Replicas < 1 || o.o.Replicas > 10 {
		return usageErrorf("--replicas %d: use 1 to 10", o.o.Replicas)
	}
	b, err := proxy.ParseBalance(o.balance)
	if err != nil {
		return usageErrorf("--balance: %v", err)
	}
	o.o.Balance = b
	return validateOutput(o.output, outputText, outputJSON, outputYAML)
}

func (o *sandboxUpOptions) Run(ctx context.Context) error {
	st, err := sandbox.Up(ctx, o.o)
	if err != nil {
		return sandboxErr(err)
	}
	if o.output != outputText {
		return printObject(o.Out, o.output, st)
	}
	fmt.Fprintf(o.Out, `Sandbox running (state in %s):
  API server  %s
  Prometheus  %s
  web-svc     %s   (namespace %s, data plane in front of web-v1 and web-v2,
              and between web and emoji-svc, voting-svc)

Use it:
  export KUBECONFIG=%s
  curl %s/api/list
  trafficctl split get web-svc -n %s
Stop it:
  trafficctl sandbox down
`, st.Dir, st.APIServer, st.Prometheus, st.Web, st.Namespace, st.Kubeconfig, st.Web, st.Namespace)
	return nil
}
