package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trafficctl/trafficctl/pkg/profiles"
)

// What `trafficctl profile --emit` produces.
const (
	emitServiceProfile = "serviceprofile"
	emitHTTPRoute      = "httproute"
)

type profileOptions struct {
	f *Factory

	service       string
	namespace     string
	openapi       string
	protos        []string
	protoPaths    []string
	clusterDomain string
	emit          string
	output        string
	retries       string
	timeout       string
	retryBudget   string

	opts profiles.Options
}

func newProfileCommand(f *Factory) *cobra.Command {
	o := &profileOptions{f: f}
	cmd := &cobra.Command{
		Use:   "profile SERVICE (--openapi FILE|URL|- | --proto FILE... [-I DIR]...)",
		Short: "Generate per-route Linkerd policy (ServiceProfile or HTTPRoutes) from an API contract",
		Long: `Generate per-route Linkerd policy from an API contract.

Reads Swagger 2.0 and OpenAPI 3.0/3.1 documents (JSON or YAML, from a file, a URL or - for
stdin), or protobuf files (every RPC becomes a POST route /package.Service/Method, retryable
when its idempotency_level is IDEMPOTENT or NO_SIDE_EFFECTS). Every operation becomes a route named "METHOD /full/path/template"; path parameters are
typed from their schema (integer, uuid, enum, pattern) and routes are ordered by specificity, so
that a request for an operation is matched first by that operation's route. Overlaps that no
order can resolve are reported on stderr.

x-linkerd-retryable and x-linkerd-timeout are read at document, path-item and operation level
(the innermost wins); x-linkerd-failure on a response overrides Linkerd's default classification.`,
		Example: `  # ServiceProfile for the web Service, ready for server-side apply
  trafficctl profile web -n emojivoto --openapi web.yaml | kubectl apply --server-side -f -

  # GET, PUT, DELETE ... retryable unless the contract says otherwise, 2s default timeout
  trafficctl profile books -n library --openapi https://books.example/openapi.json \
      --retries idempotent --timeout 2s --retry-budget 0.2,10,10s

  # GRPCRoutes for two proto files whose imports live under proto/
  trafficctl profile emoji-svc -n emojivoto --proto proto/emoji.proto --proto proto/voting.proto \
      -I proto --emit httproute`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.openapi, "openapi", "", "OpenAPI/Swagger document: file, http(s) URL, or - for stdin (alias --open-api)")
	fl.StringArrayVar(&o.protos, "proto", nil, "protobuf file whose services to route (repeatable)")
	fl.StringArrayVarP(&o.protoPaths, "proto-path", "I", nil, "directory in which to look for proto imports (repeatable, like protoc -I)")
	fl.StringVar(&o.clusterDomain, "cluster-domain", profiles.DefaultClusterDomain, "cluster DNS domain used in the ServiceProfile name")
	fl.StringVar(&o.emit, "emit", emitServiceProfile, "what to generate: serviceprofile or httproute")
	fl.StringVar(&o.retries, "retries", string(profiles.RetriesSpec), "retryable routes: spec (x-linkerd-retryable), idempotent (also GET/HEAD/OPTIONS/PUT/DELETE/TRACE) or none")
	fl.StringVar(&o.timeout, "timeout", "", "timeout of routes whose contract sets none (e.g. 2s)")
	fl.StringVar(&o.retryBudget, "retry-budget", "", "ServiceProfile retry budget RATIO,MIN_PER_SECOND,TTL (e.g. 0.2,10,10s)")
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

func (o *profileOptions) Complete(args []string) error {
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
	sources := 0
	for _, set := range []bool{o.openapi != "", len(o.protos) > 0} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return usageErrorf("pass exactly one of --openapi FILE|URL|- or --proto FILE...")
	}
	if len(o.protoPaths) > 0 && len(o.protos) == 0 {
		return usageErrorf("-I/--proto-path is only used with --proto")
	}
	if o.emit != emitServiceProfile && o.emit != emitHTTPRoute {
		return usageErrorf("invalid value %q for --emit: use serviceprofile or httproute", o.emit)
	}
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
	if o.retryBudget != "" {
		if o.opts.RetryBudget, err = profiles.ParseRetryBudget(o.retryBudget); err != nil {
			return usageErrorf("--retry-budget: %v", err)
		}
	}
	return nil
}

func (o *profileOptions) warn(msg string) {
	fmt.Fprintf(o.f.Streams.ErrOut, "warning: %s\n", msg)
}

func (o *profileOptions) Run(cmd *cobra.Command) error {
	api, err := o.readAPI(cmd.Context())
	if err != nil {
		return inputError(err)
	}
	plan, err := profiles.NewPlan(api, o.opts)
	if err != nil {
		return usageErrorf("%v", err)
	}
	for _, ov := range plan.Overlaps {
		o.warn(ov.String())
	}
	objs, err := o.objects(plan)
	if err != nil {
		return err
	}
	return printObjects(o.f.Streams.Out, o.output, objs)
}

// readAPI reads the contract named by the flags.
func (o *profileOptions) readAPI(ctx context.Context) (*profiles.API, error) {
	if len(o.protos) > 0 {
		return profiles.ParseProto(ctx, o.protos, profiles.ProtoOptions{ImportPaths: o.protoPaths})
	}
	data, err := profiles.ReadSource(ctx, o.openapi, o.f.Streams.In, nil)
	if err != nil {
		return nil, err
	}
	return profiles.ParseOpenAPI(ctx, o.openapi, data, profiles.OpenAPIOptions{Warn: o.warn, AllowExternalRefs: true})
}

// objects renders the plan as the manifests to print or apply.
func (o *profileOptions) objects(plan *profiles.Plan) ([]map[string]any, error) {
	var typed []any
	if o.emit == emitServiceProfile {
		typed = append(typed, plan.ServiceProfile())
	} else {
		ro := plan.RouteObjects()
		for _, t := range ro.Ties {
			o.warn(t.String())
		}
		for _, s := range ro.Skipped {
			o.warn(s)
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
	if format == outputJSON {
		if len(objs) == 1 {
			return printStructured(w, format, objs[0])
		}
		return printStructured(w, format, map[string]any{"apiVersion": "v1", "kind": "List", "items": objs})
	}
	for i, obj := range objs {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if err := printStructured(w, format, obj); err != nil {
			return err
		}
	}
	return nil
}

// inputError maps problems with the user's files to exit 2 and leaves other errors alone.
func inputError(err error) error {
	if profiles.IsInputError(err) {
		return withExitCode(ExitUsage, err)
	}
	return err
}
