package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/smi"
	"github.com/trafficctl/trafficctl/pkg/split"
)

func newSplitCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "split",
		Short: "Read and shift traffic weights between versions of a Service",
		Long: `Split an apex Service's traffic (web-svc) between one Service per version (web-v1, web-v2).

Linkerd balances the requests; trafficctl only writes the weights, through one of:
  gateway  HTTPRoutes of gateway.networking.k8s.io attached to the apex (Linkerd's current way)
  linkerd  HTTPRoutes of policy.linkerd.io attached to the apex
  smi      a TrafficSplit (split.smi-spec.io v1alpha1 or v1alpha2; needs linkerd-smi, deprecated)
With --router auto (the default) trafficctl uses whatever already steers the apex, else the
first of these the cluster serves. HTTPRoute weights go on every rule of every route attached
to the apex, and a catch-all route is created when none exists, so no path bypasses the split.
Workloads are never renamed, cloned or scaled.`,
	}
	cmd.AddCommand(newSplitGetCommand(f), newSplitSetCommand(f), newSplitABCommand(f))
	return cmd
}

// splitFlags are the flags every split subcommand shares.
type splitFlags struct {
	router     string
	smiVersion string
}

func (s *splitFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.router, "router", string(split.KindAuto), "traffic router: auto, smi, gateway or linkerd")
	cmd.Flags().StringVar(&s.smiVersion, "smi-version", "", "TrafficSplit version to write with --router smi: v1alpha1 (default, read by Linkerd's adaptor) or v1alpha2")
	kinds := make([]string, len(split.Kinds))
	for i, k := range split.Kinds {
		kinds[i] = string(k)
	}
	_ = cmd.RegisterFlagCompletionFunc("router", cobra.FixedCompletions(kinds, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("smi-version", cobra.FixedCompletions([]string{string(smi.V1alpha1), string(smi.V1alpha2)}, cobra.ShellCompDirectiveNoFileComp))
}

func (s *splitFlags) validate() (split.Kind, error) {
	k, err := split.ParseKind(s.router)
	if err != nil {
		return "", usageErrorf("--router: %s", strings.TrimPrefix(err.Error(), split.ErrInvalid.Error()+": "))
	}
	if s.smiVersion != "" {
		if _, err := smi.ParseVersion(s.smiVersion); err != nil {
			return "", usageErrorf("--smi-version: %s", strings.TrimPrefix(err.Error(), smi.ErrUnsupportedVersion.Error()+": "))
		}
	}
	return k, nil
}

// selectRouter connects and picks the router; the choice goes to stderr so that stdout stays
// machine-readable.
func (s *splitFlags) selectRouter(ctx context.Context, f *Factory, kind split.Kind, apex string) (split.Router, string, error) {
	c, err := f.Clients()
	if err != nil {
		return nil, "", err
	}
	sel, err := split.Select(ctx, c, kind, c.Namespace, apex, split.Options{SMIVersion: s.smiVersion})
	if err != nil {
		return nil, "", splitError(err)
	}
	for _, w := range sel.Warnings {
		fmt.Fprintf(f.Streams.ErrOut, "warning: %s\n", w)
	}
	return sel.Router, c.Namespace, nil
}

// splitError maps the split package's errors to exit codes: bad input is 2, the rest 1.
func splitError(err error) error {
	if errors.Is(err, split.ErrInvalid) || errors.Is(err, smi.ErrUnsupportedVersion) {
		return withExitCode(ExitUsage, err)
	}
	return err
}

type splitGetOptions struct {
	f      *Factory
	flags  splitFlags
	kind   split.Kind
	apex   string
	output string
}

func newSplitGetCommand(f *Factory) *cobra.Command {
	o := &splitGetOptions{f: f}
	cmd := &cobra.Command{
		Use:   "get APEX",
		Short: "Show how an apex Service's traffic is split",
		Example: `  trafficctl split get web-svc -n emojivoto
  trafficctl split get web-svc -n emojivoto -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: runOptions(o),
	}
	o.flags.add(cmd)
	addOutputFlag(cmd, &o.output, outputText, outputText, outputYAML, outputJSON)
	return cmd
}

func (o *splitGetOptions) Complete(_ *cobra.Command, args []string) error {
	o.apex = args[0]
	return nil
}

func (o *splitGetOptions) Validate() error {
	k, err := o.flags.validate()
	o.kind = k
	if err != nil {
		return err
	}
	return validateOutput(o.output, outputText, outputYAML, outputJSON)
}

func (o *splitGetOptions) Run(ctx context.Context) error {
	r, ns, err := o.flags.selectRouter(ctx, o.f, o.kind, o.apex)
	if err != nil {
		return err
	}
	s, err := r.Get(ctx, ns, o.apex)
	if errors.Is(err, split.ErrNotFound) {
		return fmt.Errorf("%w: set one with `trafficctl split set %s -n %s SERVICE=WEIGHT ...`", err, o.apex, ns)
	}
	if err != nil {
		return splitError(err)
	}
	if o.output != outputText {
		return printStructured(o.f.Streams.Out, o.output, s)
	}
	return split.PrintTable(o.f.Streams.Out, s)
}

type splitSetOptions struct {
	f        *Factory
	flags    splitFlags
	kind     split.Kind
	apex     string
	backends []split.Backend
	dryRun   string
	mode     kube.DryRun
	force    bool
	output   string
}

func newSplitSetCommand(f *Factory) *cobra.Command {
	o := &splitSetOptions{f: f}
	cmd := &cobra.Command{
		Use:   "set APEX SERVICE=WEIGHT...",
		Short: "Set the weights of an apex Service's backends",
		Long: `Set the weights with which the apex Service's traffic goes to each backend Service.

The backends listed are the complete set (list one with weight 0 to keep it at none). Weights
are whole numbers from 0 to 1000000 with a positive total; only their proportions matter.
Every backend must exist in the namespace and expose the apex's ports. Only the weights are
changed, with a conditional update: if another writer changed the weights meanwhile, nothing
is written and the difference is shown (exit 1) unless --force; their other changes are kept.`,
		Example: `  trafficctl split set web-svc -n emojivoto web-v1=90 web-v2=10
  trafficctl split set web-svc -n emojivoto web-v1=0 web-v2=100 --router gateway --dry-run=server`,
		Args: cobra.MinimumNArgs(2),
		RunE: runOptions(o),
	}
	o.flags.add(cmd)
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", "none, client (print the changes, contact only to read) or server (the server checks the writes, persists nothing)")
	cmd.Flags().BoolVar(&o.force, "force", false, "write even if another writer changed the weights since they were read")
	addOutputFlag(cmd, &o.output, outputText, outputText, outputYAML, outputJSON)
	return cmd
}

func (o *splitSetOptions) Complete(_ *cobra.Command, args []string) error {
	o.apex = args[0]
	bs, err := split.ParseBackends(args[1:])
	if err != nil {
		return withExitCode(ExitUsage, err)
	}
	o.backends = bs
	return nil
}

func (o *splitSetOptions) Validate() error {
	k, err := o.flags.validate()
	o.kind = k
	if err != nil {
		return err
	}
	if o.mode, err = kube.ParseDryRun(o.dryRun); err != nil {
		return withExitCode(ExitUsage, err)
	}
	return validateOutput(o.output, outputText, outputYAML, outputJSON)
}

func (o *splitSetOptions) Run(ctx context.Context) error {
	r, ns, err := o.flags.selectRouter(ctx, o.f, o.kind, o.apex)
	if err != nil {
		return err
	}
	res, err := r.SetWeights(ctx, ns, o.apex, o.backends, split.SetOptions{DryRun: o.mode, Force: o.force})
	if err != nil {
		return splitError(err)
	}
	printWarnings(o.f.Streams.ErrOut, res)
	return printResult(o.f.Streams.Out, o.output, res, fmt.Sprintf("split of %s/%s", ns, o.apex), split.FormatBackends(o.backends))
}

type splitABOptions struct {
	f      *Factory
	flags  splitFlags
	kind   split.Kind
	apex   string
	header string
	match  split.HeaderMatch
	to     string
	dryRun string
	mode   kube.DryRun
	force  bool
	output string
	clear  bool
}

func newSplitABCommand(f *Factory) *cobra.Command {
	o := &splitABOptions{f: f}
	cmd := &cobra.Command{
		Use:   "ab APEX (--header NAME=VALUE --to SERVICE | --clear)",
		Short: "Send requests carrying a header to one version (A/B test)",
		Long: `Send the apex's requests that carry a header to one backend Service, on every path.

Each weighted rule of each HTTPRoute attached to the apex gets a twin with the same matches plus
the header, sending to --to (Linkerd ranks rules by path before headers, so one header rule on
"/" would lose to longer paths). Running it again with another header replaces the twins;
--clear removes them. Needs an HTTPRoute router: a TrafficSplit cannot match headers.`,
		Example: `  trafficctl split ab web-svc -n emojivoto --header x-canary=true --to web-v2
  trafficctl split ab web-svc -n emojivoto --clear`,
		Args: cobra.ExactArgs(1),
		RunE: runOptions(o),
	}
	o.flags.add(cmd)
	cmd.Flags().StringVar(&o.header, "header", "", "header to match, NAME=VALUE (exact value)")
	cmd.Flags().StringVar(&o.to, "to", "", "backend Service the matching requests go to")
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", "none, client or server")
	cmd.Flags().BoolVar(&o.force, "force", false, "write even if another writer changed the weights since they were read")
	cmd.Flags().BoolVar(&o.clear, "clear", false, "remove the header rules instead of setting them")
	addOutputFlag(cmd, &o.output, outputText, outputText, outputYAML, outputJSON)
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
	k, err := o.flags.validate()
	o.kind = k
	if err != nil {
		return err
	}
	if k == split.KindSMI {
		return usageErrorf("split ab needs an HTTPRoute router: a TrafficSplit cannot match headers; use --router gateway or linkerd")
	}
	if o.mode, err = kube.ParseDryRun(o.dryRun); err != nil {
		return withExitCode(ExitUsage, err)
	}
	return validateOutput(o.output, outputText, outputYAML, outputJSON)
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
	opts := split.SetOptions{DryRun: o.mode, Force: o.force}
	what := fmt.Sprintf("header route of %s/%s", ns, o.apex)
	if o.clear {
		res, err := hr.ClearHeaderRoute(ctx, ns, o.apex, opts)
		if err != nil {
			return splitError(err)
		}
		return printResult(o.f.Streams.Out, o.output, res, what, "none")
	}
	res, err := hr.SetHeaderRoute(ctx, ns, o.apex, o.match, o.to, opts)
	if err != nil {
		return splitError(err)
	}
	printWarnings(o.f.Streams.ErrOut, res)
	return printResult(o.f.Streams.Out, o.output, res, what, fmt.Sprintf("%s -> %s", o.match, o.to))
}

// printWarnings writes the result's warnings to stderr, one line each.
func printWarnings(w io.Writer, res *split.Result) {
	for _, msg := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
}

// printResult prints each change on one line and a summary, or the result as YAML/JSON.
func printResult(w io.Writer, output string, res *split.Result, what, target string) error {
	if output != outputText {
		return printStructured(w, output, res)
	}
	for _, c := range res.Changes {
		fmt.Fprintln(w, c.String())
	}
	suffix := ""
	if res.DryRun != "" && res.DryRun != kube.DryRunNone {
		suffix = fmt.Sprintf(" (dry run: %s, nothing written)", res.DryRun)
	}
	var err error
	switch n := len(res.Changes); {
	case n == 0:
		_, err = fmt.Fprintf(w, "%s already %s through %s: nothing changed\n", what, target, res.Router)
	case res.DryRun == "" || res.DryRun == kube.DryRunNone:
		_, err = fmt.Fprintf(w, "%s set to %s through %s: %d change(s)\n", what, target, res.Router, n)
	default:
		_, err = fmt.Fprintf(w, "%s would be set to %s through %s: %d change(s)%s\n", what, target, res.Router, n, suffix)
	}
	return err
}
