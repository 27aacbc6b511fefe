package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/profiles/lint"
)

var (
	lintShort = "Check ServiceProfiles, HTTPRoutes and GRPCRoutes before Linkerd sees them"
	lintLong  = `Check ServiceProfiles, HTTPRoutes and GRPCRoutes (YAML or JSON, several documents per file,
- for stdin) for what Linkerd rejects or silently ignores:

  - the rules of Linkerd's admission webhook: route names and conditions, durations, status
    codes 100-599, the retry budget;
  - regexes that do not compile, ServiceProfile routes that can never match first;
  - a ServiceProfile and HTTPRoutes for the same Service (the profile wins, the routes'
    retries and timeouts are ignored), routes attached to a Service without a catch-all rule
    (Linkerd answers 404 to the rest), HTTPRoute regexes that match the same request;
  - Linkerd's retry and timeout annotations, regex gRPC method matches.

Findings are printed one per line as FILE: OBJECT: ROUTE: PROBLEM; any finding exits 3.`
	lintExample = `  trafficctl lint profile.yaml
  trafficctl profile web --openapi web.yaml --emit httproute | trafficctl lint -`
)

type lintOptions struct {
	genericiooptions.IOStreams
	files []string
}

func newLintCommand(f *Factory) *cobra.Command {
	o := &lintOptions{IOStreams: f.Streams}
	return newCommand("lint FILE...", lintShort, lintLong, lintExample, cobra.MinimumNArgs(1), o)
}

func (o *lintOptions) Complete(_ *cobra.Command, args []string) error {
	o.files = args
	return nil
}

func (o *lintOptions) Validate() error { return nil }

func (o *lintOptions) Run(ctx context.Context) error {
	var l lint.Linter
	for _, file := range o.files {
		data, err := profiles.ReadSource(ctx, file, o.In, nil)
		if err != nil {
			return inputError(err)
		}
		if err := l.Add(file, data); err != nil {
			return inputError(err)
		}
	}
	findings := l.Lint()
	for _, f := range findings {
		fmt.Fprintln(o.Out, f.String())
	}
	if len(findings) > 0 {
		return withExitCode(ExitCheckFailed, fmt.Errorf("%d finding(s) in %d object(s)", len(findings), l.Objects()))
	}
	if l.Objects() == 0 {
		fmt.Fprintln(o.ErrOut, "warning: no ServiceProfile, HTTPRoute or GRPCRoute found")
	}
	return nil
}
