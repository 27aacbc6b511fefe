package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/canary"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/split"
)

// parseSpecFile maps spec problems to usage errors (exit 2).
func parseSpecFile(path string) (*canary.Canary, error) {
	c, err := canary.ParseFile(path)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return c, nil
}

// whoAmI names the user for the audit log, as the API server authenticates them.
func whoAmI(ctx context.Context, cl *kube.Clients, via string) string {
	host, _ := os.Hostname()
	user := "unknown"
	if r, err := cl.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil && r.Status.UserInfo.Username != "" {
		user = r.Status.UserInfo.Username
	}
	return fmt.Sprintf("%s via trafficctl %s on %s", user, via, host)
}

// serveGauges serves the canary's weight and phase gauges on addr (--metrics-addr) until stop
// is called, for Prometheus to scrape and Grafana to annotate releases with. Without an
// address there are no gauges (nil) and stop does nothing.
func serveGauges(addr string) (g *canary.Gauges, stop func(), err error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	reg := prometheus.NewRegistry()
	g = canary.NewGauges(reg)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, usageErrorf("--metrics-addr: %v", err)
	}
	srv := &http.Server{Handler: gaugesHandler(reg), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return g, func() { _ = srv.Close() }, nil
}

// newCanaryRouter builds the split router a spec names (auto by default).
func newCanaryRouter(ctx context.Context, cl *kube.Clients, kind, ns, apex string) (split.Router, error) {
	k, err := split.ParseKind(kind)
	if err != nil {
		return nil, usageErrorf("spec.router: %v", err)
	}
	r, err := split.New(ctx, cl, k, ns, apex, split.Options{})
	if errors.Is(err, split.ErrNotServed) || errors.Is(err, split.ErrAmbiguous) || errors.Is(err, split.ErrInvalid) {
		return nil, usageErrorf("%v", err)
	}
	return r, err
}

// canaryApexOptions are the options shared by the commands on one apex's rollout (status,
// history, promote, abort, pause, resume): the APEX argument and, where printed, -o.
type canaryApexOptions struct {
	genericiooptions.IOStreams
	f      *Factory
	apex   string
	output string

	cl *kube.Clients
}

func (o *canaryApexOptions) Complete(_ *cobra.Command, args []string) error {
	o.apex = args[0]
	return nil
}

// Validate checks -o, then the connection flags.
func (o *canaryApexOptions) Validate() error {
	if err := validateOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
		return err
	}
	return o.connect()
}

// connect builds the clients from the kubeconfig flags; it does not contact the cluster.
func (o *canaryApexOptions) connect() (err error) {
	o.cl, err = o.f.Clients()
	return err
}

// newCanaryApexCommand builds a command on one APEX whose options embed canaryApexOptions;
// output, when not nil, is set by -o.
func newCanaryApexCommand(use, short, long, example string, o commandOptions, output *string) *cobra.Command {
	cmd := newCommand(use+" APEX", short, long, example, cobra.ExactArgs(1), o)
	if output != nil {
		addOutputFlag(cmd, output, outputText, outputText, outputJSON, outputYAML)
	}
	return cmd
}
