package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/profiles/lint"
)

type lintOptions struct {
	f     *Factory
	files []string
}

func newLintCommand(f *Factory) *cobra.Command {
	o := &lintOptions{f: f}
	return &cobra.Command{
		Use:   "lint FILE...",
		Short: "Check ServiceProfiles, HTTPRoutes and GRPCRoutes before Linkerd sees them",
		Long: `Check ServiceProfiles, HTTPRoutes and GRPCRoutes (YAML or JSON, several documents per file,
- for stdin) for what Linkerd rejects or silently ignores:

  - the rules of Linkerd's admission webhook: route names and conditions, durations, status
    codes 100-599, the retry budget;
  - regexes that do not compile, ServiceProfile routes that can never match first;
  - a ServiceProfile and HTTPRoutes for the same Service (the profile wins, the routes'
    retries and timeouts are ignored), routes attached to a Service without a catch-all rule
    (Linkerd answers 404 to the rest), HTTPRoute regexes that match the same request;
  - Linkerd's retry and timeout annotations, regex gRPC method matches.

Findings are printed one per line as FILE: OBJECT: ROUTE: PROBLEM; any finding exits 3.`,
		Example: `  trafficctl lint profile.yaml
  trafficctl profile web --openapi web.yaml --emit httproute | trafficctl lint -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.files = args
			return o.Run(cmd)
		},
	}
}

func (o *lintOptions) Run(cmd *cobra.Command) error {
	var l lint.Linter
	for _, file := range o.files {
		data, err := profiles.ReadSource(cmd.Context(), file, o.f.Streams.In, nil)
		if err != nil {
			return inputError(err)
		}
		if err := l.Add(file, data); err != nil {
			return inputError(err)
		}
	}
	findings := l.Lint()
	for _, f := range findings {
		fmt.Fprintln(o.f.Streams.Out, f.String())
	}
	if len(findings) > 0 {
		return withExitCode(ExitCheckFailed, fmt.Errorf("%d finding(s) in %d object(s)", len(findings), l.Objects()))
	}
	if l.Objects() == 0 {
		fmt.Fprintln(o.f.Streams.ErrOut, "warning: no ServiceProfile, HTTPRoute or GRPCRoute found")
	}
	return nil
}
