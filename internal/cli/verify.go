package cli

import (
	"context"
	"fmt"
	"net/url"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/verify"
)

var (
	verifyShort = "Check that a namespace is meshed, authorized and mutually authenticated"
	verifyLong  = `Check a live namespace against what the mesh promises:

  unmeshed                 every pod runs a linkerd-proxy
  uncovered-port           every Service port is covered by a Server...
  unauthorized-server      ...that an AuthorizationPolicy (or ServerAuthorization) targets
  no-catch-all             every route attached to a Service has a rule matching every request
  profile-overrides-route  no ServiceProfile with routes silently overrides an HTTPRoute
  plaintext-edge           every edge to or from the namespace is mTLS (with --prometheus:
                           the proxies' response_total{direction="outbound",tls="true"})

Findings print one per line as "check: object: what to do"; any finding exits 3.`
	verifyExample = `  # after: kubectl -n linkerd-viz port-forward svc/prometheus 9090
  trafficctl verify -n emojivoto --prometheus http://127.0.0.1:9090
  trafficctl verify -n emojivoto -o json`
)

type verifyOptions struct {
	genericiooptions.IOStreams
	f          *Factory
	prometheus string
	window     time.Duration
	output     string
}

func newVerifyCommand(f *Factory) *cobra.Command {
	o := &verifyOptions{IOStreams: f.Streams, f: f}
	cmd := newCommand("verify", verifyShort, verifyLong, verifyExample, cobra.NoArgs, o)
	cmd.Flags().StringVar(&o.prometheus, "prometheus", "", "Prometheus URL for the mTLS-edge check (linkerd-viz's, e.g. port-forwarded); without it that check is skipped")
	cmd.Flags().DurationVar(&o.window, "window", verify.DefaultWindow, "how far back the mTLS-edge check looks for traffic")
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func (o *verifyOptions) Complete(*cobra.Command, []string) error { return nil }

func (o *verifyOptions) Validate() error {
	if err := validateOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
		return err
	}
	if o.window < 10*time.Second {
		return usageErrorf("invalid --window %s: use at least 10s (Prometheus needs two scrapes)", o.window)
	}
	if o.prometheus != "" {
		u, err := url.Parse(o.prometheus)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("invalid --prometheus %q: use an http(s) URL such as http://127.0.0.1:9090", o.prometheus)
		}
	}
	return nil
}

func (o *verifyOptions) Run(ctx context.Context) error {
	c, err := o.f.Clients()
	if err != nil {
		return err
	}
	opts := verify.Options{Namespace: c.Namespace, Window: o.window}
	if o.prometheus != "" {
		client, err := promapi.NewClient(promapi.Config{Address: o.prometheus})
		if err != nil {
			return fmt.Errorf("prometheus client for %s: %w", o.prometheus, err)
		}
		opts.Prometheus = promv1.NewAPI(client)
	}
	r, err := verify.Run(ctx, c, opts)
	if err != nil {
		return fmt.Errorf("verify namespace %s: %w", c.Namespace, err)
	}
	out := o.Out
	if o.output != outputText {
		if err := printObject(out, o.output, r); err != nil {
			return err
		}
	} else {
		for _, f := range r.Findings {
			fmt.Fprintln(out, f)
		}
		edges := "mTLS not checked (pass --prometheus URL)"
		if r.TLSChecked {
			edges = fmt.Sprintf("%d edges with traffic in the last %s", r.Edges, model.Duration(o.window))
		}
		fmt.Fprintf(out, "namespace %s: %d pods, %d Services, %d routes, %s: %d findings\n",
			r.Namespace, r.Pods, r.Services, r.Routes, edges, len(r.Findings))
	}
	switch {
	case !r.TLSChecked:
		fmt.Fprintln(o.ErrOut, "warning: mTLS of edges not checked: pass --prometheus URL (kubectl -n linkerd-viz port-forward svc/prometheus 9090)")
	case r.Edges == 0:
		fmt.Fprintf(o.ErrOut, "warning: no traffic to or from %s in the last %s, so no edge's mTLS is proven: send some traffic or widen --window\n", r.Namespace, model.Duration(o.window))
	}
	if len(r.Findings) > 0 {
		return withExitCode(ExitCheckFailed, fmt.Errorf("namespace %s: %d findings", r.Namespace, len(r.Findings)))
	}
	return nil
}
