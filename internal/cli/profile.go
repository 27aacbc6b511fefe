package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/profiles"
	"github.com/trafficctl/trafficctl/pkg/profiles/merge"
)

var (
	profileShort = "Generate per-route Linkerd policy (ServiceProfile or HTTPRoutes) from an API contract"
	profileLong  = `Generate per-route Linkerd policy from an API contract.

Reads Swagger 2.0 and OpenAPI 3.0/3.1 documents (JSON or YAML, from a file, a URL or - for
stdin), or protobuf files. Every operation becomes a route named "METHOD /full/path/template"
(every RPC a POST route "/package.Service/Method", retryable when its idempotency_level is
IDEMPOTENT or NO_SIDE_EFFECTS). Path parameters are typed from their schema (integer, uuid,
enum, pattern) and routes are ordered by specificity, so that a request for an operation is
matched first by that operation's route; overlaps no order can resolve are reported on stderr.

x-linkerd-retryable and x-linkerd-timeout are read at document, path-item and operation level
(the innermost wins); x-linkerd-failure on a response overrides Linkerd's default classification
(5xx fails).

--emit httproute prints Gateway API HTTPRoutes (GRPCRoutes for proto input) attached to the
Service instead: one per retry/timeout policy with Linkerd's annotations, a catch-all rule, and
regexes made disjoint because Linkerd's route precedence does not follow listed order.

--merge FILE updates what a previous run generated and you edited since. For a ServiceProfile,
routes not named like generated ones, dstOverrides, opaquePorts and the retry budget are kept.
For HTTPRoutes/GRPCRoutes (FILE may be kubectl get -o yaml output), route objects without the
app.kubernetes.io/managed-by=trafficctl label are yours: printed as they are, never applied (a
generated match identical to one of yours is left to yours); routes of other Services or other
namespaces are left out; generated objects are regenerated keeping your
labels, annotations, parentRefs, hostnames, your own rules and matches (headers, query
parameters, other path types) and the backendRefs/filters of their rules. Every change is listed
on stderr; "conflict:" lines name what you edited that the contract overrode. Objects the
contract no longer needs are left out: delete them from the cluster as the change says.`
	profileExample = `  # ServiceProfile for the web Service, ready for server-side apply
  trafficctl profile web -n emojivoto --openapi web.yaml | kubectl apply --server-side -f -

  # GET, PUT, DELETE ... retryable unless the contract says otherwise, 2s default timeout
  trafficctl profile books -n library --openapi https://books.example/openapi.json \
      --retries idempotent --timeout 2s --retry-budget 0.2,10,10s

  # Update the profile in the cluster from a new contract, keeping hand-written routes
  kubectl get sp web.emojivoto.svc.cluster.local -n emojivoto -o yaml > current.yaml
  trafficctl profile web -n emojivoto --openapi web.yaml --merge current.yaml --apply

  # Update edited HTTPRoutes (a split's backendRefs, retry limits, your own rules) from a new contract
  kubectl get httproute -n emojivoto -o yaml > routes.yaml
  trafficctl profile web -n emojivoto --openapi web.yaml --emit httproute --merge routes.yaml \
      --apply --force-conflicts

  # GRPCRoutes for two proto files whose imports live under proto/
  trafficctl profile emoji-svc -n emojivoto --proto proto/emoji.proto --proto proto/voting.proto \
      -I proto --emit httproute`
)

// profileGCPercent is the GC target while generating (the Go default is 100).
const profileGCPercent = 40

// What `trafficctl profile --emit` produces.
const (
	emitServiceProfile = "serviceprofile"
	emitHTTPRoute      = "httproute"
)

type profileOptions struct {
	genericiooptions.IOStreams
	f *Factory

	service       string
	namespace     string
	openapi       string
	protos        []string
	protoPaths    []string
	refOrigins    []string
	clusterDomain string
	emit          string
	output        string
	retries       string
	timeout       string
	retryBudget   string
	merge         string
	template      bool
	apply         bool
	force         bool
	dryRun        string

	opts profiles.Options
	dry  kube.DryRun
}

func newProfileCommand(f *Factory) *cobra.Command {
	o := &profileOptions{IOStreams: f.Streams, f: f}
	cmd := newCommand("profile SERVICE (--openapi FILE|URL|- | --proto FILE... [-I DIR]...)", profileShort, profileLong, profileExample, cobra.ExactArgs(1), o)
	fl := cmd.Flags()
	fl.StringVar(&o.openapi, "openapi", "", "OpenAPI/Swagger document: file, http(s) URL, or - for stdin (alias --open-api)")
	fl.StringArrayVar(&o.protos, "proto", nil, "protobuf file whose services to route (repeatable)")
	fl.StringArrayVar(&o.refOrigins, "allow-ref-origin", nil, "an origin (https://schemas.example.com) a remote document's $refs may read besides its own (repeatable); local files never")
	fl.StringArrayVarP(&o.protoPaths, "proto-path", "I", nil, "directory in which to look for proto imports (repeatable, like protoc -I)")
	fl.StringVar(&o.clusterDomain, "cluster-domain", profiles.DefaultClusterDomain, "cluster DNS domain used in the ServiceProfile name")
	fl.StringVar(&o.emit, "emit", emitServiceProfile, "what to generate: serviceprofile or httproute")
	fl.StringVar(&o.retries, "retries", string(profiles.RetriesSpec), "retryable routes: spec (x-linkerd-retryable), idempotent (also GET/HEAD/OPTIONS/PUT/DELETE/TRACE) or none")
	fl.StringVar(&o.timeout, "timeout", "", "timeout of routes whose contract sets none (e.g. 2s)")
	fl.StringVar(&o.retryBudget, "retry-budget", "", "ServiceProfile retry budget RATIO,MIN_PER_SECOND,TTL (e.g. 0.2,10,10s)")
	fl.StringVar(&o.merge, "merge", "", "existing ServiceProfile (or, with --emit httproute, HTTPRoutes/GRPCRoutes) file to update: what you added by hand is kept, changes and conflicts are listed on stderr")
	fl.BoolVar(&o.template, "template", false, "print a commented ServiceProfile template to fill in by hand")
	fl.BoolVar(&o.apply, "apply", false, "server-side apply the result to the cluster instead of printing it")
	fl.StringVar(&o.dryRun, "dry-run", "none", "with --apply: none, or server to have the API server validate without persisting")
	fl.BoolVar(&o.force, "force-conflicts", false, "with --apply: take over fields another writer last set (trafficctl split weights, kubectl edits); after --merge, which kept their values")
	addOutputFlag(cmd, &o.output, outputYAML, outputYAML, outputJSON)
	// Linkerd users type `linkerd profile --open-api`: keep that habit working.
	fl.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "open-api" {
			name = "openapi"
		}
		return pflag.NormalizedName(name)
	})
	_ = cmd.RegisterFlagCompletionFunc("emit", cobra.FixedCompletions([]string{emitServiceProfile, emitHTTPRoute}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("retries", cobra.FixedCompletions([]string{"spec", "idempotent", "none"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *profileOptions) Complete(_ *cobra.Command, args []string) error {
	o.service = args[0]
	ns, _, err := o.f.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	o.namespace = ns
	return nil
}

func (o *profileOptions) Validate() error {
	if err := validateOutput(o.output, outputYAML, outputJSON); err != nil {
		return err
	}
	if errs := validation.IsDNS1035Label(o.service); len(errs) > 0 {
		return usageErrorf("invalid Service name %q: %s", o.service, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(o.namespace); len(errs) > 0 {
		return usageErrorf("invalid namespace %q: %s", o.namespace, strings.Join(errs, "; "))
	}
	sources := 0
	for _, set := range []bool{o.openapi != "", len(o.protos) > 0, o.template} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return usageErrorf("pass exactly one of --openapi FILE|URL|-, --proto FILE... or --template")
	}
	if len(o.protoPaths) > 0 && len(o.protos) == 0 {
		return usageErrorf("-I/--proto-path is only used with --proto")
	}
	if o.emit != emitServiceProfile && o.emit != emitHTTPRoute {
		return usageErrorf("invalid value %q for --emit: use serviceprofile or httproute", o.emit)
	}
	if o.merge == "-" && o.openapi == "-" {
		return usageErrorf("--merge - and --openapi - cannot both read stdin: pass one of them as a file")
	}
	if o.retryBudget != "" && o.emit != emitServiceProfile {
		return usageErrorf("--retry-budget sets a ServiceProfile's budget: HTTPRoutes take retry.linkerd.io/limit instead; drop it or use --emit serviceprofile")
	}
	if o.template && (o.emit != emitServiceProfile || o.output != outputYAML || o.merge != "") {
		return usageErrorf("--template prints commented ServiceProfile YAML: use it without --emit, -o json and --merge")
	}
	dry, err := kube.ParseDryRun(o.dryRun)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if dry != kube.DryRunNone && !o.apply {
		return usageErrorf("--dry-run only applies with --apply")
	}
	if o.force && !o.apply {
		return usageErrorf("--force-conflicts only applies with --apply")
	}
	o.dry = dry
	mode, err := profiles.ParseRetryMode(o.retries)
	if err != nil {
		return usageErrorf("--retries: %v", err)
	}
	o.opts = profiles.Options{
		Service:       o.service,
		Namespace:     o.namespace,
		ClusterDomain: o.clusterDomain,
		Retries:       mode,
		Timeout:       o.timeout,
	}
	if err := o.opts.Check(); err != nil {
		return usageErrorf("%v", err)
	}
	if o.retryBudget != "" {
		if o.opts.RetryBudget, err = profiles.ParseRetryBudget(o.retryBudget); err != nil {
			return usageErrorf("--retry-budget: %v", err)
		}
	}
	return nil
}

func (o *profileOptions) warn(msg string) {
	fmt.Fprintf(o.ErrOut, "warning: %s\n", msg)
}

func (o *profileOptions) Run(ctx context.Context) error {
	if o.template {
		if o.apply {
			return usageErrorf("--template prints a template to edit: it cannot be applied as is")
		}
		_, err := fmt.Fprintf(o.Out, profiles.Template, o.opts.ProfileName(), o.namespace)
		return err
	}
	// A one-shot generator holds little live data but churns through decoded input: a tighter
	// GC target keeps the process's peak memory below Linkerd's own generator on large
	// contracts (the Kubernetes API) for a few milliseconds of CPU.
	defer debug.SetGCPercent(debug.SetGCPercent(profileGCPercent))
	api, err := o.readAPI(ctx)
	if err != nil {
		return inputError(err)
	}
	plan, err := profiles.NewPlan(api, o.opts)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if o.emit == emitServiceProfile {
		// HTTPRoutes have their own precedence: their ties are reported by objects.
		for _, ov := range plan.Overlaps {
			o.warn(ov.String())
		}
	}
	objs, err := o.objects(ctx, plan)
	if err != nil {
		return err
	}
	if o.apply {
		return o.applyObjects(ctx, objs)
	}
	return printObjects(o.Out, o.output, objs)
}

// applyObjects server-side applies the manifests and reports each like kubectl does.
func (o *profileOptions) applyObjects(ctx context.Context, objs []map[string]any) error {
	clients, err := o.f.Clients()
	if err != nil {
		return err
	}
	suffix := ""
	if o.dry == kube.DryRunServer {
		suffix = " (server dry run)"
	}
	for _, obj := range objs {
		u := &unstructured.Unstructured{Object: obj}
		if _, err := clients.Apply(ctx, u, kube.ApplyOptions{DryRun: o.dry, ForceConflicts: o.force}); err != nil {
			return err
		}
		gvk := u.GroupVersionKind()
		fmt.Fprintf(o.Out, "%s.%s/%s serverside-applied%s\n", strings.ToLower(gvk.Kind), gvk.Group, u.GetName(), suffix)
	}
	return nil
}

// mergeInto updates the existing profile in --merge with the generated one.
func (o *profileOptions) mergeInto(ctx context.Context, generated *profiles.ServiceProfile) (*profiles.ServiceProfile, error) {
	data, err := profiles.ReadSource(ctx, o.merge, o.In, nil)
	if err != nil {
		return nil, inputError(err)
	}
	existing, err := merge.ReadServiceProfile(o.merge, data)
	if err != nil {
		return nil, inputError(err)
	}
	merged, changes := merge.ServiceProfile(existing, generated)
	for _, c := range changes {
		fmt.Fprintf(o.ErrOut, "merge: %s\n", c)
	}
	return merged, nil
}

// mergeRoutes updates the existing route objects in --merge with the generated ones.
func (o *profileOptions) mergeRoutes(ctx context.Context, ro *profiles.RouteObjects) ([]map[string]any, error) {
	data, err := profiles.ReadSource(ctx, o.merge, o.In, nil)
	if err != nil {
		return nil, inputError(err)
	}
	existing, err := merge.ReadRouteObjects(o.merge, data)
	if err != nil {
		return nil, inputError(err)
	}
	merged, err := merge.Routes(existing, ro)
	if err != nil {
		return nil, usageErrorf("merge %s: %v", o.merge, err)
	}
	for _, c := range merged.Changes {
		fmt.Fprintf(o.ErrOut, "merge: %s\n", c)
	}
	if o.apply && merged.Yours > 0 {
		// Printed, the user's objects keep a file whole; applied, they would make trafficctl
		// a co-owner of fields it never wrote.
		fmt.Fprintf(o.ErrOut, "merge: %d hand-written route object(s) not applied: they are yours\n", merged.Yours)
		return merged.Objects[merged.Yours:], nil
	}
	return merged.Objects, nil
}

// readAPI reads the contract named by the flags.
func (o *profileOptions) readAPI(ctx context.Context) (*profiles.API, error) {
	if len(o.protos) > 0 {
		return profiles.ParseProto(ctx, o.protos, profiles.ProtoOptions{ImportPaths: o.protoPaths})
	}
	data, err := profiles.ReadSource(ctx, o.openapi, o.In, nil)
	if err != nil {
		return nil, err
	}
	return profiles.ParseOpenAPI(ctx, o.openapi, data, profiles.OpenAPIOptions{Warn: o.warn, AllowExternalRefs: true, RefOrigins: o.refOrigins})
}

// objects renders the plan as the manifests to print or apply.
func (o *profileOptions) objects(ctx context.Context, plan *profiles.Plan) ([]map[string]any, error) {
	var typed []any
	if o.emit == emitServiceProfile {
		sp := plan.ServiceProfile()
		if o.merge != "" {
			merged, err := o.mergeInto(ctx, sp)
			if err != nil {
				return nil, err
			}
			sp = merged
		}
		typed = append(typed, sp)
	} else {
		ro := plan.RouteObjects()
		for _, t := range ro.Ties {
			o.warn(t.String())
		}
		for _, s := range ro.Skipped {
			o.warn(s)
		}
		if o.merge != "" {
			return o.mergeRoutes(ctx, ro)
		}
		for _, r := range ro.HTTP {
			typed = append(typed, r)
		}
		for _, r := range ro.GRPC {
			typed = append(typed, r)
		}
	}
	objs := make([]map[string]any, 0, len(typed))
	for _, t := range typed {
		m, err := profiles.Manifest(t)
		if err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
		objs = append(objs, m)
	}
	return objs, nil
}

// printObjects prints manifests as a YAML stream (documents separated by ---) or, in JSON,
// as one object or a v1 List, so that either pipes into kubectl apply -f -.
func printObjects(w io.Writer, format string, objs []map[string]any) error {
	if format == outputYAML {
		// One YAMLPrinter separates the documents it prints with ---.
		p := &printers.YAMLPrinter{}
		for _, obj := range objs {
			if err := p.PrintObj(&unstructured.Unstructured{Object: obj}, w); err != nil {
				return err
			}
		}
		return nil
	}
	obj := map[string]any{"apiVersion": "v1", "kind": "List", "items": objs}
	if len(objs) == 1 {
		obj = objs[0]
	}
	return printObject(w, format, &unstructured.Unstructured{Object: obj})
}

// inputError maps problems with the user's files to exit 2 and leaves other errors alone.
func inputError(err error) error {
	if profiles.IsInputError(err) {
		return withExitCode(ExitUsage, err)
	}
	return err
}
