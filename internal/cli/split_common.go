package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/smi"
	"github.com/trafficctl/trafficctl/pkg/split"
)

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

// printWarnings writes the result's warnings to stderr, one line each.
func printWarnings(w io.Writer, res *split.Result) {
	for _, msg := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
}

// printResult prints each change on one line and a summary, or the result as YAML/JSON.
func printResult(w io.Writer, output string, res *split.Result, what, target string) error {
	if output != outputText {
		return printObject(w, output, res)
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

// splitOptions are the options every split subcommand shares: the router flags, the APEX
// argument and -o.
type splitOptions struct {
	genericiooptions.IOStreams
	f      *Factory
	flags  splitFlags
	kind   split.Kind
	apex   string
	output string
}

func newSplitOptions(f *Factory) splitOptions {
	return splitOptions{IOStreams: f.Streams, f: f}
}

// addFlags registers --router, --smi-version and -o.
func (o *splitOptions) addFlags(cmd *cobra.Command) {
	o.flags.add(cmd)
	addOutputFlag(cmd, &o.output, outputText, outputText, outputYAML, outputJSON)
}

// validateRouter checks --router and --smi-version and keeps the router kind.
func (o *splitOptions) validateRouter() error {
	k, err := o.flags.validate()
	o.kind = k
	return err
}

// validate checks --router and --smi-version, then each of checks in turn, then -o.
func (o *splitOptions) validate(checks ...func() error) error {
	if err := o.validateRouter(); err != nil {
		return err
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return validateOutput(o.output, outputText, outputYAML, outputJSON)
}

// splitWriteOptions are the flags of the subcommands that write: --dry-run and --force.
type splitWriteOptions struct {
	dryRun string
	mode   kube.DryRun
	force  bool
}

func (o *splitWriteOptions) addWriteFlags(cmd *cobra.Command, dryRunHelp string) {
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", dryRunHelp)
	cmd.Flags().BoolVar(&o.force, "force", false, "write even if another writer changed the weights since they were read")
}

func (o *splitWriteOptions) parseDryRun() (err error) {
	if o.mode, err = kube.ParseDryRun(o.dryRun); err != nil {
		return withExitCode(ExitUsage, err)
	}
	return nil
}

func (o *splitWriteOptions) setOptions() split.SetOptions {
	return split.SetOptions{DryRun: o.mode, Force: o.force}
}
