package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/migrate"
	"github.com/trafficctl/trafficctl/pkg/profiles"
)

var migrateLong = `Move Services off ServiceProfiles and SMI TrafficSplits, which Linkerd has supplanted, onto
Gateway API routes.

  routes            each route becomes a rule of an HTTPRoute (gateway.networking.k8s.io, or
                    policy.linkerd.io with --emit linkerd); a profile of gRPC methods only
                    becomes a GRPCRoute. One route object per policy, plus a catch-all rule.
  first match       a ServiceProfile takes the first matching route; HTTPRoutes rank by match
                    length, then method. Each regex is narrowed to the paths earlier routes
                    leave it, so the same route wins.
  timeout           timeout.linkerd.io/request (a profile's timeout includes retries)
  isRetryable       retry.linkerd.io/http with the statuses the response classes call failures
                    (retry.linkerd.io/grpc for gRPC); classes of routes that do not retry only
                    classified metrics and are reported as dropped
  retryBudget       retry.linkerd.io/limit, with the reasoning printed
  dstOverrides,     backendRefs with weights on every rule, so no path bypasses the split
  TrafficSplit

Every migration carries a proof: for every request (path x method) the old objects route to a
policy, the new routes route it to the same policy. The route regexes are run side by side as
one automaton ("proved by automata"); when a regex uses what the automata do not model, paths
sampled from each regex are compared instead ("checked by sampling"). Each difference is
printed with an example request; any difference exits 3 and stops --apply.

The new objects go to stdout as YAML (-o json: the whole report); notes and the proof go to
stderr. --apply server-side applies the routes (field manager trafficctl), checks the server
kept them, then deletes the profile and split, after saving them to --backup; the undo command
is printed.`

var migrateExample = `  # every ServiceProfile and TrafficSplit of a namespace, printed
  trafficctl migrate -n emojivoto

  # one Service, applied, with policy.linkerd.io HTTPRoutes
  trafficctl migrate -n emojivoto --service web-svc --emit linkerd --apply

  # from files (or - for stdin); TrafficSplit backends need the port
  trafficctl migrate -f deploy/emojivoto/profiles/web-svc.yaml --port 8080
  kubectl get sp,ts -n emojivoto -o yaml | trafficctl migrate -f - -o json

  # prove the profiles against routes written by hand (exit 3 on any difference)
  trafficctl migrate -n emojivoto --against my-routes.yaml

  # have the API server validate everything without persisting
  trafficctl migrate -n emojivoto --apply --dry-run=server`

type migrateOptions struct {
	genericiooptions.IOStreams
	f *Factory

	file    string
	against string
	service string
	emit    string
	output  string
	dryRun  string
	backup  string
	port    int32
	apply   bool
	force   bool

	emitKind migrate.Emit
	dry      kube.DryRun
}

func newMigrateCommand(f *Factory) *cobra.Command {
	o := &migrateOptions{IOStreams: f.Streams, f: f}
	cmd := &cobra.Command{
		Use:     "migrate",
		Short:   "Turn ServiceProfiles and TrafficSplits into HTTPRoutes/GRPCRoutes, with an equivalence proof",
		Long:    migrateLong,
		Example: migrateExample,
		Args:    cobra.NoArgs,
		RunE:    runOptions(o),
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.file, "filename", "f", "", "read ServiceProfiles and TrafficSplits from this file, URL or - (stdin) instead of the cluster")
	fl.StringVar(&o.against, "against", "", "prove the old objects against these HTTPRoutes/GRPCRoutes (file, URL or -) instead of generating routes")
	fl.StringVar(&o.service, "service", "", "migrate only this Service")
	fl.StringVar(&o.emit, "emit", string(migrate.EmitGateway), "HTTPRoute API group: gateway (gateway.networking.k8s.io) or linkerd (policy.linkerd.io)")
	fl.Int32Var(&o.port, "port", 0, "backend port of TrafficSplit backends (default: the apex Service's first port, read from the cluster)")
	fl.BoolVar(&o.apply, "apply", false, "apply the routes, then delete the ServiceProfiles and TrafficSplits")
	fl.StringVar(&o.dryRun, "dry-run", "none", "with --apply: none, client or server")
	fl.StringVar(&o.backup, "backup", "trafficctl-migrate-backup.yaml", "with --apply: where the old objects are saved for the undo command")
	fl.BoolVar(&o.force, "force-conflicts", false, "with --apply: take over route fields another field manager owns")
	addOutputFlag(cmd, &o.output, outputYAML, outputYAML, outputJSON)
	_ = cmd.RegisterFlagCompletionFunc("emit", cobra.FixedCompletions([]string{string(migrate.EmitGateway), string(migrate.EmitLinkerd)}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *migrateOptions) Complete(_ *cobra.Command, _ []string) error {
	return nil
}

func (o *migrateOptions) Validate() error {
	if err := validateOutput(o.output, outputYAML, outputJSON); err != nil {
		return err
	}
	e, err := migrate.ParseEmit(o.emit)
	if err != nil {
		return usageErrorf("%v", err)
	}
	o.emitKind = e
	if o.dry, err = kube.ParseDryRun(o.dryRun); err != nil {
		return usageErrorf("%v", err)
	}
	if o.dry != kube.DryRunNone && !o.apply {
		return usageErrorf("--dry-run applies to --apply only (without --apply nothing is sent)")
	}
	if o.against == "-" && o.file == "-" {
		return usageErrorf("-f - and --against - cannot both read stdin")
	}
	if o.port < 0 || o.port > 65535 {
		return usageErrorf("invalid --port %d: use 1-65535", o.port)
	}
	return nil
}

func (o *migrateOptions) Run(ctx context.Context) error {
	ms, c, err := o.plan(ctx)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintln(o.ErrOut, "nothing to migrate: no ServiceProfile or TrafficSplit found")
		return nil
	}
	different := 0
	for _, m := range ms {
		if m.Proof.Verdict != migrate.VerdictEquivalent {
			different++
		}
	}
	undo := ""
	if o.apply && different == 0 {
		if undo, err = o.applyAll(ctx, c, ms); err != nil {
			return err
		}
	}
	if err := o.print(ms, undo); err != nil {
		return err
	}
	if different > 0 {
		msg := fmt.Sprintf("%d of %d Services would route some requests differently", different, len(ms))
		if o.apply {
			msg += ": nothing applied"
		}
		return withExitCode(ExitCheckFailed, errors.New(msg))
	}
	return nil
}

// plan reads the old objects (from -f or the cluster) and migrates them.
func (o *migrateOptions) plan(ctx context.Context) ([]*migrate.Migration, *kube.Clients, error) {
	var c *kube.Clients
	var in *migrate.Input
	needCluster := o.file == "" || o.apply || o.port == 0
	if needCluster {
		var err error
		if c, err = o.f.Clients(); err != nil && (o.file == "" || o.apply) {
			return nil, nil, err
		}
	}
	opts := migrate.Options{Emit: o.emitKind, Port: o.port}
	if o.file != "" {
		data, err := profiles.ReadSource(ctx, o.file, o.In, nil)
		if err != nil {
			return nil, nil, withExitCode(ExitUsage, err)
		}
		if in, err = migrate.Read(o.file, data); err != nil {
			return nil, nil, withExitCode(ExitUsage, err)
		}
	} else {
		var err error
		if in, err = migrate.FromCluster(ctx, c, c.Namespace, o.service); err != nil {
			return nil, nil, err
		}
	}
	if o.service != "" && o.file != "" {
		ns := ""
		if c != nil && c.NamespaceExplicit {
			ns = c.Namespace
		}
		in.Only(ns, o.service)
	}
	for _, ig := range in.Ignored {
		fmt.Fprintf(o.ErrOut, "warning: %s is neither a ServiceProfile nor a TrafficSplit: ignored\n", ig)
	}
	if o.port == 0 && c != nil {
		opts.PortOf = func(ns, svc string) (int32, error) { return migrate.ServicePort(ctx, c, ns, svc) }
	}
	ms, err := migrate.Plan(in, opts)
	if errors.Is(err, migrate.ErrInput) {
		return nil, nil, withExitCode(ExitUsage, err)
	}
	if err == nil && o.against != "" {
		err = o.useRoutes(ctx, ms)
	}
	return ms, c, err
}

// useRoutes proves every migration against the routes of --against.
func (o *migrateOptions) useRoutes(ctx context.Context, ms []*migrate.Migration) error {
	data, err := profiles.ReadSource(ctx, o.against, o.In, nil)
	if err != nil {
		return withExitCode(ExitUsage, err)
	}
	routes, err := migrate.ReadRoutes(o.against, data)
	if err != nil {
		return withExitCode(ExitUsage, err)
	}
	for _, m := range ms {
		m.UseRoutes(routes)
	}
	return nil
}

// applyAll saves the old objects, then applies each migration in the safe order.
func (o *migrateOptions) applyAll(ctx context.Context, c *kube.Clients, ms []*migrate.Migration) (string, error) {
	log := func(s string) { fmt.Fprintln(o.ErrOut, s) }
	if o.dry == kube.DryRunNone {
		backup, err := migrate.Backup(ctx, c, ms)
		if err != nil {
			return "", fmt.Errorf("back up the old objects (nothing changed): %w", err)
		}
		if err := os.WriteFile(o.backup, backup, 0o600); err != nil {
			return "", fmt.Errorf("write backup %s (nothing changed): %w", o.backup, err)
		}
		log("old objects saved to " + o.backup)
	}
	for _, m := range ms {
		if err := migrate.Apply(ctx, c, m, migrate.ApplyOptions{DryRun: o.dry, ForceConflicts: o.force, Log: log}); err != nil {
			return "", err
		}
	}
	if o.dry != kube.DryRunNone {
		return "", nil
	}
	return migrate.UndoCommand(ms, o.backup), nil
}

// migrateReport is what -o json prints.
type migrateReport struct {
	Migrations []*migrate.Migration `json:"migrations"`
	Undo       string               `json:"undo,omitempty"`
}

func (o *migrateOptions) print(ms []*migrate.Migration, undo string) error {
	if o.output == outputJSON {
		return printObject(o.Out, outputJSON, migrateReport{Migrations: ms, Undo: undo})
	}
	for _, m := range ms {
		if err := writeRoutesYAML(o.Out, m.Routes); err != nil {
			return err
		}
		printMigrationReport(o.ErrOut, m)
	}
	if undo != "" {
		fmt.Fprintf(o.ErrOut, "undo: %s\n", undo)
	}
	return nil
}

func writeRoutesYAML(w io.Writer, routes []*unstructured.Unstructured) error {
	for _, r := range routes {
		b, err := yaml.Marshal(r.Object)
		if err != nil {
			return fmt.Errorf("encode %s: %w", kube.Describe(r), err)
		}
		if _, err := fmt.Fprintf(w, "---\n%s", b); err != nil {
			return err
		}
	}
	return nil
}

// printMigrationReport writes one Service's notes and proof, one line each.
func printMigrationReport(w io.Writer, m *migrate.Migration) {
	from := make([]string, len(m.Sources))
	for i, s := range m.Sources {
		from[i] = s.Kind + "/" + s.Name
	}
	fmt.Fprintf(w, "%s/%s: %s -> %d routes\n", m.Namespace, m.Service, strings.Join(from, ", "), len(m.Routes))
	for _, n := range m.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, n := range m.Proof.Notes {
		fmt.Fprintf(w, "  proof note: %s\n", n)
	}
	fmt.Fprintf(w, "  proof: %s (%s, %d request classes compared)\n", m.Proof.Verdict, m.Proof.Method, m.Proof.Requests)
	for _, d := range m.Proof.Differences {
		fmt.Fprintf(w, "  difference: %s\n", d)
	}
}
