package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/internal/sandbox"
	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
	"github.com/trafficctl/trafficctl/internal/sandbox/proxy"
)

func newSandboxCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the whole product on this machine: API server, Prometheus, demo app, data plane",
		Long: `Try trafficctl without a cluster. "sandbox up" starts, on 127.0.0.1 only, a real kube-apiserver
and etcd with the upstream Linkerd, Gateway API and SMI CRDs, a real Prometheus, an
Emojivoto-compatible demo app (web v1 and v2 as several processes each, emoji and voting over
gRPC) and a local data plane that sends web-svc's traffic where the live TrafficSplit or
HTTPRoute weights say, carries web's gRPC calls to emoji-svc and voting-svc, and exports
Linkerd's metrics for both. Point KUBECONFIG at it and use every other command as on a real
cluster; "sandbox set" injects failures and delays into web-v1, web-v2, emoji or voting.

The data plane is a stand-in for the parts of Linkerd that trafficctl depends on (weights,
header routes, latency-aware balancing, proxy metrics), not a production mesh.`,
	}
	cmd.AddCommand(newSandboxUpCommand(f), newSandboxDownCommand(f), newSandboxStatusCommand(f),
		newSandboxEnvCommand(f), newSandboxSetCommand(f), newSandboxBalanceCommand(f), newSandboxReportCommand(f),
		newSandboxServeCommand())
	return cmd
}

func addSandboxDirFlag(cmd *cobra.Command, dir *string) {
	def, _ := sandbox.DefaultDir()
	cmd.Flags().StringVar(dir, "dir", def, "state directory of the sandbox (PID files, logs, kubeconfig)")
}

// sandboxErr maps the sandbox's sentinel errors to exit codes.
func sandboxErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sandbox.ErrBadInput):
		return withExitCode(ExitUsage, err)
	case errors.Is(err, sandbox.ErrNotRunning):
		return withExitCode(ExitCheckFailed, err)
	}
	return err
}

type sandboxUpOptions struct {
	f       *Factory
	o       sandbox.Options
	balance string
	output  string
}

func newSandboxUpCommand(f *Factory) *cobra.Command {
	o := &sandboxUpOptions{f: f, o: sandbox.Options{Replicas: sandbox.DefaultReplicas}, balance: string(proxy.BalanceEWMA)}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the sandbox (stopping one left running first)",
		Example: `  trafficctl sandbox up
  export KUBECONFIG=~/.cache/trafficctl/sandbox/k8s/kubeconfig
  trafficctl sandbox up --web-port 8080 --replicas 2 --balance round-robin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	addSandboxDirFlag(cmd, &o.o.Dir)
	cmd.Flags().StringVar(&o.o.PrometheusBin, "prometheus-bin", "", "Prometheus binary (default: $TRAFFICCTL_PROMETHEUS, else prometheus on PATH)")
	cmd.Flags().StringVar(&o.o.CRDs, "crds", "", "directory of the upstream CRD bundles (default: $TRAFFICCTL_CRDS_DIR, ../shared/crds, the fetch-crds cache)")
	cmd.Flags().IntVar(&o.o.Replicas, "replicas", o.o.Replicas, "processes per web version (1-10)")
	cmd.Flags().IntVar(&o.o.WebPort, "web-port", 0, "127.0.0.1 port of web-svc (0 picks a free port)")
	cmd.Flags().StringVar(&o.balance, "balance", o.balance, "replica balancing of the data plane: ewma or round-robin")
	cmd.Flags().StringVar(&o.o.OTLPEndpoint, "otlp-endpoint", "", "host:port of an OTLP/HTTP trace collector (e.g. 127.0.0.1:4318) the demo app sends spans to")
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
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
	o.o.Log = o.f.Streams.ErrOut
	st, err := sandbox.Up(ctx, o.o)
	if err != nil {
		return sandboxErr(err)
	}
	if o.output != outputText {
		return printStructured(o.f.Streams.Out, o.output, st)
	}
	w := o.f.Streams.Out
	fmt.Fprintf(w, `Sandbox running (state in %s):
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

type sandboxDirOptions struct {
	f      *Factory
	dir    string
	output string
}

func newSandboxDownCommand(f *Factory) *cobra.Command {
	o := &sandboxDirOptions{f: f}
	cmd := &cobra.Command{
		Use:     "down",
		Short:   "Stop every process of the sandbox",
		Example: `  trafficctl sandbox down`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := sandbox.Down(o.dir)
			if errors.Is(err, sandbox.ErrNotRunning) {
				fmt.Fprintf(o.f.Streams.Out, "no sandbox running in %s\n", o.dir)
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(o.f.Streams.Out, "sandbox stopped: %d processes\n", n)
			return nil
		},
	}
	addSandboxDirFlag(cmd, &o.dir)
	return cmd
}

func newSandboxStatusCommand(f *Factory) *cobra.Command {
	o := &sandboxDirOptions{f: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each component's PID, address and health (exit 3 when one is unhealthy)",
		Example: `  trafficctl sandbox status
  trafficctl sandbox status -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			return o.status(cmd.Context())
		},
	}
	addSandboxDirFlag(cmd, &o.dir)
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func (o *sandboxDirOptions) status(ctx context.Context) error {
	_, ss, err := sandbox.Status(ctx, o.dir)
	if err != nil {
		return sandboxErr(err)
	}
	healthy, line := sandbox.Summary(ss)
	if o.output != outputText {
		if err := printStructured(o.f.Streams.Out, o.output, ss); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(o.f.Streams.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COMPONENT\tPID\tADDRESS\tHEALTH")
		for _, s := range ss {
			h := "ok"
			if !s.Healthy {
				h = "DOWN: " + s.Detail
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Name, s.PID, s.Addr, h)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(o.f.Streams.Out, line)
	}
	if !healthy {
		return withExitCode(ExitCheckFailed, errors.New(line))
	}
	return nil
}

func newSandboxEnvCommand(f *Factory) *cobra.Command {
	o := &sandboxDirOptions{f: f}
	cmd := &cobra.Command{
		Use:     "env",
		Short:   "Print shell exports for the running sandbox (eval \"$(trafficctl sandbox env)\")",
		Example: `  eval "$(trafficctl sandbox env)"; curl "$TRAFFICCTL_SANDBOX_WEB/api/list"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sandbox.Load(o.dir)
			if err != nil {
				return sandboxErr(err)
			}
			fmt.Fprintf(o.f.Streams.Out, "export KUBECONFIG=%q\nexport TRAFFICCTL_SANDBOX_PROMETHEUS=%q\nexport TRAFFICCTL_SANDBOX_WEB=%q\nexport TRAFFICCTL_SANDBOX_METRICS=%q\n",
				st.Kubeconfig, st.Prometheus, st.Web, "http://"+st.Metrics+"/metrics")
			return nil
		},
	}
	addSandboxDirFlag(cmd, &o.dir)
	return cmd
}

type sandboxSetOptions struct {
	sandboxDirOptions
	replica int
	b       demoapp.Behaviour
	failure float64
	delay   time.Duration
}

func newSandboxSetCommand(f *Factory) *cobra.Command {
	o := &sandboxSetOptions{sandboxDirOptions: sandboxDirOptions{f: f}, replica: -1}
	cmd := &cobra.Command{
		Use:   "set TARGET [--failure-rate PERCENT] [--delay DURATION] [--replica N]",
		Short: "Change a demo app Deployment's failure rate and delay while it runs (web-v1, web-v2, emoji, voting)",
		Long: `Change the fault knobs of the demo app while it runs, as Emojivoto's FAILURE_RATE and
ARTIFICIAL_DELAY do. A knob left out is reset: "set web-v2" alone makes web-v2 healthy again.

TARGET is a Deployment of the sandbox's demo app:
  web-v1, web-v2   the web versions (HTTP, behind web-svc), --replicas processes each
                   (web-v1-0, web-v1-1, ...); a failure is an HTTP 500
  emoji            emoji-svc (gRPC), one version, one process (emoji-svc)
  voting           voting-svc (gRPC), one version, one process (voting-svc)
emoji-svc and voting-svc name the same targets. A gRPC failure is grpc-status 13 (INTERNAL) on
HTTP 200: the data plane counts it as a failure, as Linkerd does, and web answers 500.
Knobs apply to every replica of TARGET, or only to --replica N (0 is the first).`,
		Example: `  trafficctl sandbox set web-v2 --failure-rate 30          # a broken canary
  trafficctl sandbox set web-v1 --replica 0 --delay 150ms  # one slow replica
  trafficctl sandbox set voting --failure-rate 100         # every vote fails (gRPC INTERNAL)
  trafficctl sandbox set emoji --delay 50ms                # slow emoji lookups
  trafficctl sandbox set web-v2                            # healthy again`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.failure < 0 || o.failure > 100 {
				return usageErrorf("--failure-rate %v: use a percentage from 0 to 100", o.failure)
			}
			if o.delay < 0 {
				return usageErrorf("--delay %s: use a duration of 0 or more", o.delay)
			}
			if o.replica < -1 {
				return usageErrorf("--replica %d: use a replica index from 0, or -1 for all replicas", o.replica)
			}
			o.b = demoapp.Behaviour{FailureRate: o.failure / 100, Delay: o.delay}
			st, err := sandbox.Load(o.dir)
			if err != nil {
				return sandboxErr(err)
			}
			names, err := sandbox.SetBehaviour(cmd.Context(), st, args[0], o.replica, o.b)
			if err != nil {
				return sandboxErr(err)
			}
			for _, n := range names {
				fmt.Fprintf(o.f.Streams.Out, "%s: failure rate %g%%, delay %s\n", n, o.failure, o.b.Delay)
			}
			return nil
		},
	}
	addSandboxDirFlag(cmd, &o.dir)
	cmd.Flags().IntVar(&o.replica, "replica", -1, "only this replica index, from 0 (-1: all replicas)")
	cmd.Flags().Float64Var(&o.failure, "failure-rate", 0, "percentage of requests that fail: HTTP 500 from web, gRPC INTERNAL from emoji and voting")
	cmd.Flags().DurationVar(&o.delay, "delay", 0, "added to every request")
	return cmd
}

func newSandboxBalanceCommand(f *Factory) *cobra.Command {
	o := &sandboxDirOptions{f: f}
	cmd := &cobra.Command{
		Use:     "balance ewma|round-robin",
		Short:   "Switch the data plane's replica balancing",
		Example: `  trafficctl sandbox balance round-robin`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := proxy.ParseBalance(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			st, err := sandbox.Load(o.dir)
			if err != nil {
				return sandboxErr(err)
			}
			if err := sandbox.SetBalance(cmd.Context(), st, b); err != nil {
				return err
			}
			fmt.Fprintf(o.f.Streams.Out, "data plane balancing: %s\n", b)
			return nil
		},
	}
	addSandboxDirFlag(cmd, &o.dir)
	return cmd
}

func newSandboxReportCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Write DIR/report.html from the results make demo leaves in DIR",
		Long: `Render the demo's results (load.json from load run, canary-history.json from canary history,
balance-MODE.json from load attack and the data plane's metrics around them) as one
self-contained HTML page: load charts, the canary timeline with weights and success rates, the
audit log and the balancing comparison. Prints a summary and the report's path.`,
		Example: `  trafficctl sandbox report /tmp/trafficctl-demo`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, summary, err := sandbox.WriteReport(args[0])
			if err != nil {
				return err
			}
			for _, row := range summary {
				fmt.Fprintf(f.Streams.Out, "  %s: %s\n", row[0], row[1])
			}
			fmt.Fprintf(f.Streams.Out, "report: %s\n", path)
			return nil
		},
	}
}

// newSandboxServeCommand is the hidden entry point of the sandbox's own processes: `sandbox up`
// re-executes trafficctl with it for each demo app replica and the data plane.
func newSandboxServeCommand() *cobra.Command {
	var spec string
	cmd := &cobra.Command{
		Use:    "serve-component",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := readFileArg(spec)
			if err != nil {
				return usageErrorf("read component spec: %v", err)
			}
			var s sandbox.ComponentSpec
			if err := json.Unmarshal(b, &s); err != nil {
				return usageErrorf("component spec %s: %v", spec, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			start := time.Now()
			err = sandbox.Serve(ctx, s)
			fmt.Fprintf(cmd.ErrOrStderr(), "%s stopped after %s\n", s.Name, time.Since(start).Round(time.Second))
			return err
		},
	}
	cmd.Flags().StringVar(&spec, "spec", "", "component spec file written by sandbox up")
	return cmd
}
