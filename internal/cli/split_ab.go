package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/split"
)

var (
	splitABShort = "Send requests carrying a header to one version (A/B test)"
	splitABLong  = `Send the apex's requests that carry a header to one backend Service, on every path.

Each weighted rule of each HTTPRoute attached to the apex gets a twin with the same matches plus
the header, sending to --to (Linkerd ranks rules by path before headers, so one header rule on
"/" would lose to longer paths). Running it again with another header replaces the twins;
--clear removes them. Needs an HTTPRoute router: a TrafficSplit cannot match headers.`
	splitABExample = `  trafficctl split ab web-svc -n emojivoto --header x-canary=true --to web-v2
  trafficctl split ab web-svc -n emojivoto --clear`
)

type splitABOptions struct {
	splitOptions
	splitWriteOptions
	header string
	match  split.HeaderMatch
	to     string
	clear  bool
}

func newSplitABCommand(f *Factory) *cobra.Command {
	o := &splitABOptions{splitOptions: newSplitOptions(f)}
	cmd := newCommand("ab APEX (--header NAME=VALUE --to SERVICE | --clear)", splitABShort, splitABLong, splitABExample, cobra.ExactArgs(1), o)
	o.addFlags(cmd)
	o.addWriteFlags(cmd, "none, client or server")
	cmd.Flags().StringVar(&o.header, "header", "", "header to match, NAME=VALUE (exact value)")
	cmd.Flags().StringVar(&o.to, "to", "", "backend Service the matching requests go to")
	cmd.Flags().BoolVar(&o.clear, "clear", false, "remove the header rules instead of setting them")
	return cmd
}

func (o *splitABOptions) Complete(_ *cobra.Command, args []string) error {
	o.apex = args[0]
	if o.clear {
		if o.header != "" || o.to != "" {
			return usageErrorf("--clear takes no --header or --to")
		}
		return nil
	}
	if o.header == "" || o.to == "" {
		return usageErrorf("pass --header NAME=VALUE and --to SERVICE, or --clear")
	}
	m, err := split.ParseHeader(o.header)
	if err != nil {
		return withExitCode(ExitUsage, err)
	}
	o.match = m
	return nil
}

func (o *splitABOptions) Validate() error {
	return o.validate(o.headerRouter, o.parseDryRun)
}

// headerRouter rejects --router smi: a TrafficSplit cannot match headers.
func (o *splitABOptions) headerRouter() error {
	if o.kind == split.KindSMI {
		return usageErrorf("split ab needs an HTTPRoute router: a TrafficSplit cannot match headers; use --router gateway or linkerd")
	}
	return nil
}

func (o *splitABOptions) Run(ctx context.Context) error {
	r, ns, err := o.flags.selectRouter(ctx, o.f, o.kind, o.apex)
	if err != nil {
		return err
	}
	hr, ok := r.(split.HeaderRouter)
	if !ok {
		return usageErrorf("split ab needs an HTTPRoute router, but %s/%s is split by a TrafficSplit, which cannot match headers: move it to HTTPRoutes or pass --router gateway", ns, o.apex)
	}
	opts := o.setOptions()
	what := fmt.Sprintf("header route of %s/%s", ns, o.apex)
	if o.clear {
		res, err := hr.ClearHeaderRoute(ctx, ns, o.apex, opts)
		if err != nil {
			return splitError(err)
		}
		return printResult(o.Out, o.output, res, what, "none")
	}
	res, err := hr.SetHeaderRoute(ctx, ns, o.apex, o.match, o.to, opts)
	if err != nil {
		return splitError(err)
	}
	printWarnings(o.ErrOut, res)
	return printResult(o.Out, o.output, res, what, fmt.Sprintf("%s -> %s", o.match, o.to))
}
