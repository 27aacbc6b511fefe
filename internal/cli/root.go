// Package cli is trafficctl's command-line layer: thin cobra commands over the pkg/ domain
// packages. Every command follows kubectl's pattern: an options struct embedding the IO streams,
// with Complete(cmd, args), Validate() and Run(ctx), wired through runOptions; one file per
// subcommand, its help text in variables at the top; errors returned (only main exits).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

var (
	rootShort = "Per-route policy, traffic splits, canaries and load tests for Linkerd"
	rootLong  = `trafficctl manages traffic for microservices on Kubernetes with the Linkerd service mesh.

It talks to the cluster named by your kubeconfig, like kubectl: --kubeconfig, --context and
-n/--namespace work on every command that touches the cluster.
`
)

// Factory gives commands what they share: the IO streams and the kubectl-style connection flags.
type Factory struct {
	Streams     genericiooptions.IOStreams
	ConfigFlags *genericclioptions.ConfigFlags
}

// Clients builds Kubernetes clients from the global flags (--kubeconfig, --context, -n, ...).
func (f *Factory) Clients() (*kube.Clients, error) {
	return kube.NewClients(f.ConfigFlags)
}

// defaultRequestTimeout bounds one Kubernetes API request when --request-timeout is not given.
const defaultRequestTimeout = 30 * time.Second

// NewRootCommand builds the trafficctl command tree.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	f := &Factory{
		Streams:     streams,
		ConfigFlags: genericclioptions.NewConfigFlags(true).WithDiscoveryBurst(300).WithDiscoveryQPS(50),
	}
	root := &cobra.Command{
		Use:           "trafficctl",
		Short:         rootShort,
		Long:          rootLong + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Completion is an explicit subcommand (see `trafficctl completion --help`).
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	// Every API call is bounded: a hung API server fails the command instead of hanging it
	// (kubectl's --request-timeout; 0 turns the bound off).
	f.ConfigFlags.AddFlags(root.PersistentFlags())
	boundRequests(f.ConfigFlags, root.PersistentFlags())
	root.SetUsageTemplate(root.UsageTemplate() + exitCodesHelp)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err}
	})
	root.AddCommand(
		newProfileCommand(f),
		newLintCommand(f),
		newVersionCommand(f),
		newTopologyCommand(f),
		newCompletionCommand(f),
		newSplitCommand(f),
		newCanaryCommand(f),
		newVerifyCommand(f),
		newLoadCommand(f),
		newSandboxCommand(f),
		newMigrateCommand(f),
		newDoctorCommand(f),
	)
	return root
}

// Run executes trafficctl with args and returns the process exit code. Errors are printed as
// one line on stderr (with a usage hint for invalid input); no stack traces.
func Run(ctx context.Context, streams genericiooptions.IOStreams, args []string) int {
	// client-go logs through klog to stderr; the CLI reports errors itself, once.
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)

	root := NewRootCommand(streams)
	started := markRunStart(root)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	code := exitCode(err)
	// Anything cobra rejected before a command ran (unknown command, wrong number of args,
	// missing required flag) is a usage error.
	if !*started && code == ExitError {
		code = ExitUsage
	}
	fmt.Fprintf(streams.ErrOut, "error: %s\n", oneLine(err.Error()))
	if code == ExitUsage && cmd != nil {
		fmt.Fprintf(streams.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// markRunStart wraps every command's RunE so Run can tell cobra's own argument and flag
// errors apart from failures inside a command.
func markRunStart(root *cobra.Command) *bool {
	started := new(bool)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(c *cobra.Command, args []string) error {
				*started = true
				return run(c, args)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return started
}

// oneLine keeps multi-line API errors on one line so that the error stays greppable.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// commandOptions is the kubectl life cycle of a command's options: take the arguments and the
// flags as given (Complete), check everything before touching anything (Validate), then act
// (Run). Every command's options implement it and are wired through runOptions.
type commandOptions interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runOptions is the RunE of every command: Complete, Validate, then Run, stopping at the first
// error, so that bad input (exit 2) is reported before anything is changed.
func runOptions(o commandOptions) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// newCommand builds a command whose options o follow the life cycle: its help (from the
// package-level variables at the top of its file), its argument check, and runOptions(o).
func newCommand(use, short, long, example string, args cobra.PositionalArgs, o commandOptions) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		Args:    args,
		RunE:    runOptions(o),
	}
}

// oneArg is embedded by the options of a command that takes one argument: Complete keeps it.
type oneArg struct{ arg string }

func (a *oneArg) Complete(_ *cobra.Command, args []string) error {
	a.arg = args[0]
	return nil
}

// boundRequests applies defaultRequestTimeout to the REST config when --request-timeout is not
// given (an explicit 0 still turns the bound off). It is applied to the built config rather than
// as the flag's value because client-go only falls back to the in-cluster config when no
// override is set: a non-zero default made a pod's controller dial localhost:8080.
func boundRequests(cf *genericclioptions.ConfigFlags, flags *pflag.FlagSet) {
	if fl := flags.Lookup("request-timeout"); fl != nil {
		fl.DefValue = defaultRequestTimeout.String()
		fl.Usage = "how long to wait for one API server request (e.g. 1s, 2m); 0 waits forever"
	}
	cf.WrapConfigFn = func(c *rest.Config) *rest.Config {
		if c.Timeout == 0 && !flags.Changed("request-timeout") {
			c.Timeout = defaultRequestTimeout
		}
		return c
	}
}
