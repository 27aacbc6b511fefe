package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/topology"
)

var (
	topologyShort = "Show the service graph of a namespace from the Linkerd proxies' metrics"
	topologyLong  = `Show which workloads talk to which, from the Linkerd proxies' metrics in Prometheus.

Each edge is the traffic one client workload sent to one server workload in the window, as the
client's proxy saw it: requests per second, success rate, p50/p99 latency, whether it was mutually
authenticated (mTLS), and its share of the traffic to the same authority (during a canary, the
split between versions). The slowest and least healthy edges and every plaintext edge are
highlighted.

Prometheus is linkerd-viz's: kubectl -n linkerd-viz port-forward svc/prometheus 9090`
	topologyExample = `  trafficctl topology -n emojivoto
  trafficctl topology -n emojivoto --since 10m -o html > topology.html
  trafficctl topology -n emojivoto -o dot | dot -Tpng > topology.png`
)

// defaultPrometheusURL suits `kubectl -n linkerd-viz port-forward svc/prometheus 9090`.
const defaultPrometheusURL = "http://127.0.0.1:9090"

type topologyOptions struct {
	genericiooptions.IOStreams
	f          *Factory
	prometheus string
	since      time.Duration
	output     string
	namespace  string
}

func newTopologyCommand(f *Factory) *cobra.Command {
	o := &topologyOptions{IOStreams: f.Streams, f: f}
	cmd := newCommand("topology", topologyShort, topologyLong, topologyExample, cobra.NoArgs, o)
	cmd.Flags().StringVar(&o.prometheus, "prometheus", defaultPrometheusURL, "Prometheus URL (linkerd-viz's, port-forwarded)")
	cmd.Flags().DurationVar(&o.since, "since", topology.DefaultWindow, "how far back to look at traffic")
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, "dot", "svg", "html")
	return cmd
}

func (o *topologyOptions) Complete(*cobra.Command, []string) error {
	if o.f.ConfigFlags.Namespace != nil {
		o.namespace = *o.f.ConfigFlags.Namespace
	}
	return nil
}

func (o *topologyOptions) Validate() error {
	if o.namespace == "" {
		return usageErrorf("-n/--namespace is required: name the namespace to draw")
	}
	if o.since <= 0 {
		return usageErrorf("invalid --since %s: use a positive duration such as 5m", o.since)
	}
	return validateOutput(o.output, outputText, outputJSON, "dot", "svg", "html")
}

func (o *topologyOptions) Run(ctx context.Context) error {
	if err := o.checkNamespace(ctx); err != nil {
		return err
	}
	client, err := api.NewClient(api.Config{Address: o.prometheus})
	if err != nil {
		return usageErrorf("invalid --prometheus %q: %v", o.prometheus, err)
	}
	g, err := topology.Build(ctx, promv1.NewAPI(client), o.namespace, o.since, time.Now())
	if errors.Is(err, topology.ErrNoTraffic) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (is Prometheus at %s? port-forward linkerd-viz's or pass --prometheus)", err, o.prometheus)
	}
	out := o.Out
	switch formatKind(o.output) {
	case outputJSON:
		return printObject(out, o.output, g)
	case "dot":
		return topology.WriteDot(out, g)
	case "svg":
		return topology.WriteSVG(out, g)
	case "html":
		return topology.WriteHTML(out, g)
	}
	return topology.WriteTable(out, g)
}

// checkNamespace tells a mistyped namespace apart from one without traffic. Without a usable
// kubeconfig it is skipped: the graph itself needs only Prometheus.
func (o *topologyOptions) checkNamespace(ctx context.Context) error {
	c, err := o.f.Clients()
	if err != nil {
		return nil
	}
	_, err = c.Kube.CoreV1().Namespaces().Get(ctx, o.namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return usageErrorf("namespace %q not found in context %s: check -n", o.namespace, c.Context)
	case err != nil:
		return fmt.Errorf("get namespace %s: %w", o.namespace, err)
	}
	return nil
}
