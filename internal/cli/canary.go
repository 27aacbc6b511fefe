package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trafficctl/trafficctl/pkg/canary"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

func newCanaryCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "canary",
		Short: "Automated canary releases: step traffic by Linkerd metrics, roll back on their own",
		Long: `Shift an apex Service's traffic from a stable to a canary version step by step, analysing
Linkerd's proxy metrics of both versions over the same window with a sequential test, and
promote, roll back at once, or hold. The rollout's state and a hash-chained audit log live in
the ConfigMap trafficctl-canary-<apex>, so a killed run resumes where it stopped.`,
	}
	cmd.AddCommand(
		newCanaryPlanCommand(f),
		newCanaryRunCommand(f),
		newCanaryStatusCommand(f),
		newCanaryControlCommand(f, "promote", "Approve the manual gate the canary waits at"),
		newCanaryControlCommand(f, "abort", "Roll the canary back at once: all traffic to the stable version"),
		newCanaryControlCommand(f, "pause", "Stop analysis and traffic changes until resume"),
		newCanaryControlCommand(f, "resume", "Continue a paused canary"),
		newCanaryHistoryCommand(f),
		newCanaryControllerCommand(f),
		newCanaryBenchCommand(f),
	)
	return cmd
}

// parseSpecFile maps spec problems to usage errors (exit 2).
func parseSpecFile(path string) (*canary.Canary, error) {
	c, err := canary.ParseFile(path)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return c, nil
}

// maxPlanRPS bounds `canary plan --rps`: the simulation draws every request's outcome.
const maxPlanRPS = 1e6

type canaryPlanOptions struct {
	f                 *Factory
	spec              canarySpecFlags
	output            string
	rps               float64
	errorRate, stable float64
}

func newCanaryPlanCommand(f *Factory) *cobra.Command {
	d := canary.DefaultPlanOptions
	o := &canaryPlanOptions{f: f, rps: d.RPS, errorRate: 100 * d.ErrorRate, stable: 100 * d.StableErrorRate}
	cmd := &cobra.Command{
		Use:   "plan [FILE]",
		Short: "Show what a rollout would do, without touching the cluster",
		Long: `Print the steps, the shortest time to promote a healthy canary, the worst-case time to roll
back a fully broken one, and the failed requests expected to leak at --rps and --error-rate,
computed by replaying simulated traffic against the spec's own policy.`,
		Example: `  trafficctl canary plan web-canary.yaml
  trafficctl canary plan web-canary.yaml --rps 5 --error-rate 5 -o json
  trafficctl canary plan --apex web-svc --stable web-v1 --canary web-v2 --prometheus http://127.0.0.1:9090 --steps 5,25,100`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			if err := checkFlags(
				flagCheck{"rps", inRange(o.rps, 0.001, maxPlanRPS)},
				flagCheck{"error-rate", inRange(o.errorRate, 0, 100)},
				flagCheck{"stable-error-rate", inRange(o.stable, 0, 100)},
			); err != nil {
				return err
			}
			c, err := o.spec.build(cmd, args)
			if err != nil {
				return err
			}
			p := canary.MakePlan(c, canary.PlanOptions{RPS: o.rps, ErrorRate: o.errorRate / 100, StableErrorRate: o.stable / 100, Runs: d.Runs})
			if o.output != outputText {
				return printStructured(f.Streams.Out, o.output, p)
			}
			return p.Print(f.Streams.Out)
		},
	}
	cmd.Flags().Float64Var(&o.rps, "rps", o.rps, "total requests per second to the apex")
	cmd.Flags().Float64Var(&o.errorRate, "error-rate", o.errorRate, "canary error rate in percent")
	cmd.Flags().Float64Var(&o.stable, "stable-error-rate", o.stable, "stable version's error rate in percent")
	o.spec.add(cmd.Flags())
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

type canaryRunOptions struct {
	f           *Factory
	spec        canarySpecFlags
	metricsAddr string
	promTimeout time.Duration
}

func newCanaryRunCommand(f *Factory) *cobra.Command {
	o := &canaryRunOptions{f: f}
	cmd := &cobra.Command{
		Use:   "run [FILE]",
		Short: "Run (or resume) a canary rollout in the foreground",
		Long: `Run the rollout the spec describes until it is promoted (exit 0), rolled back or aborted
(exit 3), or held past its deadline (exit 4). Before anything changes it checks that the
Services and Deployments exist, that Prometheus answers and that every query parses. Killed and
started again with the same spec, it resumes at the step it stopped at. Every spec setting is
also a flag: with a FILE the flags override it, without one they are the spec.`,
		Example: `  trafficctl canary run web-canary.yaml
  trafficctl canary run web-canary.yaml --prometheus http://127.0.0.1:9090 --metrics-addr :9102
  trafficctl canary run --apex web-svc --stable web-v1 --canary web-v2 --prometheus http://127.0.0.1:9090 --gates 50`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPromTimeout(o.promTimeout); err != nil {
				return err
			}
			c, err := o.spec.build(cmd, args)
			if err != nil {
				return err
			}
			return o.Run(cmd.Context(), c)
		},
	}
	o.spec.add(cmd.Flags())
	cmd.Flags().StringVar(&o.metricsAddr, "metrics-addr", "", "serve trafficctl_canary_weight/phase on this address (/metrics)")
	addPromTimeoutFlag(cmd.Flags(), &o.promTimeout)
	return cmd
}

func (o *canaryRunOptions) Run(ctx context.Context, c *canary.Canary) error {
	cl, err := o.f.Clients()
	if err != nil {
		return err
	}
	ns := c.Namespace(cl.Namespace)
	prom, err := metrics.NewPrometheus(c.Spec.Prometheus, metrics.WithQueryTimeout(o.promTimeout))
	if err != nil {
		return usageErrorf("%v", err)
	}
	router, err := newCanaryRouter(ctx, cl, c.Spec.Router, ns, c.Spec.Apex)
	if err != nil {
		return err
	}
	eng := &canary.Engine{Kube: cl.Kube, Router: router, Provider: prom, Out: o.f.Streams.Out,
		Actor: whoAmI(ctx, cl, "canary run")}
	if o.metricsAddr != "" {
		g, stop, err := serveGauges(o.metricsAddr)
		if err != nil {
			return err
		}
		defer stop()
		eng.Gauges = g
	}
	phase, err := eng.Run(ctx, c, ns)
	return runError(phase, err)
}

// runError maps a rollout's end to the exit-code table.
func runError(phase canary.Phase, err error) error {
	switch {
	case errors.Is(err, canary.ErrPreflight), errors.Is(err, canary.ErrBusy), errors.Is(err, split.ErrInvalid):
		return withExitCode(ExitUsage, fmt.Errorf("%w; nothing was changed", err))
	case errors.Is(err, metrics.ErrBackendDown):
		return fmt.Errorf("%w; nothing was changed", err)
	case err != nil:
		return err
	}
	switch phase {
	case canary.PhasePromoted:
		return nil
	case canary.PhaseDeadlineExceeded:
		return withExitCode(ExitUndecided, errors.New("canary held past its deadline and rolled back: no verdict (see `trafficctl canary history`)"))
	default:
		return withExitCode(ExitCheckFailed, fmt.Errorf("canary %s (see `trafficctl canary history`)", strings.ToLower(string(phase))))
	}
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
// is called, for Prometheus to scrape and Grafana to annotate releases with.
func serveGauges(addr string) (g *canary.Gauges, stop func(), err error) {
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

type canaryApexOptions struct {
	f      *Factory
	output string
	reason string
}

func newCanaryStatusCommand(f *Factory) *cobra.Command {
	o := &canaryApexOptions{f: f}
	cmd := &cobra.Command{
		Use:     "status APEX",
		Short:   "Show a canary's phase, step, weights and last decision",
		Example: `  trafficctl canary status web-svc -n emojivoto`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			cl, err := f.Clients()
			if err != nil {
				return err
			}
			rec, err := canary.NewStore(cl.Kube, cl.Namespace).Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.output != outputText {
				return printStructured(f.Streams.Out, o.output, rec.State)
			}
			return printStatus(f.Streams.Out, rec)
		},
	}
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func printStatus(w io.Writer, rec *canary.Record) error {
	st, c := rec.State, rec.Spec
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Canary:\t%s (spec %s)\n", st.Name, st.SpecHash)
	fmt.Fprintf(tw, "Apex:\t%s\n", c.Spec.Apex)
	fmt.Fprintf(tw, "Phase:\t%s\n", st.Phase)
	fmt.Fprintf(tw, "Step:\t%d of %d %v\n", st.Step+1, len(c.Steps()), c.Steps())
	fmt.Fprintf(tw, "Weights:\t%s=%d %s=%d\n", c.Spec.Stable.Service, 100-st.Weight, c.Spec.Canary.Service, st.Weight)
	fmt.Fprintf(tw, "Started:\t%s\n", st.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "Canary requests:\t%.0f (%.0f failed) in completed steps\n", st.Prior.Canary.Requests, st.Prior.Canary.Failures)
	for _, a := range st.Approved {
		fmt.Fprintf(tw, "Approved:\tgate %d%% by %s at %s\n", a.Weight, a.By, a.At.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "Message:\t%s\n", st.Message)
	fmt.Fprintf(tw, "Log head:\t%s\n", st.Head)
	return tw.Flush()
}

func newCanaryControlCommand(f *Factory, verb, short string) *cobra.Command {
	o := &canaryApexOptions{f: f}
	cmd := &cobra.Command{
		Use:     verb + " APEX",
		Short:   short,
		Example: fmt.Sprintf("  trafficctl canary %s web-svc -n emojivoto", verb),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := f.Clients()
			if err != nil {
				return err
			}
			store := canary.NewStore(cl.Kube, cl.Namespace)
			ct := &canary.Control{Store: store, Actor: whoAmI(ctx, cl, "canary "+verb)}
			var rec *canary.Record
			switch verb {
			case "promote":
				rec, err = ct.Promote(ctx, args[0])
			case "pause":
				rec, err = ct.Pause(ctx, args[0])
			case "resume":
				rec, err = ct.Resume(ctx, args[0])
			case "abort":
				cur, gerr := store.Get(ctx, args[0])
				if gerr != nil {
					return gerr
				}
				ct.Router, err = newCanaryRouter(ctx, cl, cur.Spec.Spec.Router, cl.Namespace, args[0])
				if err != nil {
					return err
				}
				rec, err = ct.Abort(ctx, args[0], o.reason)
			}
			if errors.Is(err, canary.ErrNotApplicable) {
				return usageErrorf("%v", err)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(f.Streams.Out, "canary %s on %s/%s: %s at %d%% (%s)\n", rec.State.Name, cl.Namespace, args[0], rec.State.Phase, rec.State.Weight, verb)
			return err
		},
	}
	if verb == "abort" {
		cmd.Flags().StringVar(&o.reason, "reason", "", "why, for the audit log")
	}
	return cmd
}

func newCanaryHistoryCommand(f *Factory) *cobra.Command {
	o := &canaryApexOptions{f: f}
	cmd := &cobra.Command{
		Use:   "history APEX",
		Short: "Print an apex's canary audit log and verify its hash chain",
		Long: `Print every decision of every canary on the apex, oldest first, and verify the log: each
entry's hash, each link to the previous entry, and the last hash against the anchor kept in the
rollout's state. A log that does not verify exits 3.`,
		Example: `  trafficctl canary history web-svc -n emojivoto
  trafficctl canary history web-svc -n emojivoto -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			cl, err := f.Clients()
			if err != nil {
				return err
			}
			entries, verr := canary.NewStore(cl.Kube, cl.Namespace).History(cmd.Context(), args[0])
			if verr != nil && !errors.Is(verr, canary.ErrTampered) {
				return verr
			}
			if o.output != outputText {
				if err := printStructured(f.Streams.Out, o.output, entries); err != nil {
					return err
				}
			} else if err := printHistory(f.Streams.Out, entries); err != nil {
				return err
			}
			if verr != nil {
				return withExitCode(ExitCheckFailed, verr)
			}
			if o.output == outputText {
				_, err = fmt.Fprintf(f.Streams.Out, "chain verified: %d entries, head %s\n", len(entries), entries[len(entries)-1].Hash)
			}
			return err
		},
	}
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func printHistory(w io.Writer, entries []canary.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tCANARY\tSPEC\tEVENT\tSTEP\tWEIGHT\tVERDICT\tACTOR\tREASON")
	for _, e := range entries {
		verdict := string(e.Verdict)
		if verdict == "" {
			verdict = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d%%->%d%%\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format("2006-01-02T15:04:05Z"), e.Canary,
			e.SpecHash, e.Event, e.Step+1, e.WeightBefore, e.WeightAfter, verdict, e.Actor, e.Reason)
		for _, ch := range e.Checks {
			v := "-"
			if ch.Value != nil {
				v = fmt.Sprintf("%.4g", *ch.Value)
			}
			fmt.Fprintf(tw, "\t\t\t\t  %s\t\t%s\t%s\t\tthreshold %s\n", ch.Metric, v, ch.Verdict, ch.Threshold)
		}
	}
	return tw.Flush()
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

type canaryBenchOptions struct {
	f    *Factory
	spec canarySpecFlags
}

func newCanaryBenchCommand(f *Factory) *cobra.Command {
	o := &canaryBenchOptions{f: f}
	cmd := &cobra.Command{
		Use:   "bench [FILE]",
		Short: "Replay simulated traffic against a spec's policy and a Flagger-style one",
		Long: `Replay the same simulated traffic (100 rps, 10 s scrapes, stable error rate 0.1 %, first weight
5 %) against the spec's policy and a Flagger-style policy (30 s interval, threshold 5, 5 % steps
up to 50 %): a fully broken and a 5 % broken canary, healthy canaries at 100 rps, and 20 healthy
runs at 5 rps. Without a FILE or flags it uses trafficctl's benchmark spec (steps 5,10,25,50,100,
analysis every 5 s, 25 canary requests per step, success rate >= 99 %).`,
		Example: `  trafficctl canary bench
  trafficctl canary bench web-canary.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := canary.BenchSpec()
			if len(args) == 1 || cmd.Flags().NFlag() > 0 {
				var err error
				if c, err = o.spec.build(cmd, args); err != nil {
					return err
				}
			}
			return canary.PrintComparison(f.Streams.Out, canary.Compare(c))
		},
	}
	o.spec.add(cmd.Flags())
	return cmd
}
