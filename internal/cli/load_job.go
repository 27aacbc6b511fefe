package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/version"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/load"
	loadjob "github.com/trafficctl/trafficctl/pkg/load/job"
)

var (
	loadJobShort = "Render (or apply) a Kubernetes Job of N attacker pods running a scenario"
	loadJobLong  = `Render a ConfigMap holding the scenario and an Indexed Job of N attacker pods (the mesh's
"testing pod": meshed when its namespace is injected), each running the whole scenario, so
the total load is N times the scenario's rates. Each pod prints its JSON report, histograms
included, to its log; 'trafficctl load collect JOB' merges them and checks the thresholds.

Without --apply the objects are printed as YAML, for kubectl or GitOps.`
	loadJobExample = `  trafficctl load job scenario.yaml --replicas 4 -n emojivoto > loadtest.yaml
  trafficctl load job scenario.yaml --replicas 4 -n emojivoto --apply
  trafficctl load collect loadtest-scenario -n emojivoto`
)

type loadJobOptions struct {
	genericiooptions.IOStreams
	f     *Factory
	name  string
	image string
	// serviceAccount is the attackers' identity.
	serviceAccount string
	replicas       int32
	apply          bool
	dryRun         string

	path     string
	scenario *load.Scenario
	data     []byte
	dry      kube.DryRun
}

func newLoadJobCommand(f *Factory) *cobra.Command {
	o := &loadJobOptions{IOStreams: f.Streams, f: f}
	cmd := newCommand("job SCENARIO.yaml --replicas N", loadJobShort, loadJobLong, loadJobExample, cobra.ExactArgs(1), o)
	cmd.Flags().StringVar(&o.name, "name", "", "name of the Job and ConfigMap (default: loadtest-<scenario file name>)")
	cmd.Flags().StringVar(&o.image, "image", loadjob.Image(version.Version), "attacker image (deploy/trafficctl or make images; default: the image of this binary's version)")
	cmd.Flags().StringVar(&o.serviceAccount, "service-account", loadjob.DefaultServiceAccount, "ServiceAccount (mesh identity) the attackers run as; created when missing")
	cmd.Flags().Int32Var(&o.replicas, "replicas", 1, "number of attacker pods")
	cmd.Flags().BoolVar(&o.apply, "apply", false, "apply to the cluster (server-side apply) instead of printing")
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", "with --apply: none or server")
	return cmd
}

// Complete reads and parses the scenario file.
func (o *loadJobOptions) Complete(_ *cobra.Command, args []string) error {
	o.path = args[0]
	var err error
	if o.data, err = readFileArg(o.path); err != nil {
		return usageErrorf("read scenario: %w", err)
	}
	if o.scenario, err = load.ParseScenario(o.data, filepath.Dir(o.path)); err != nil {
		return usageErrorf("%s: %w", o.path, err)
	}
	return nil
}

func (o *loadJobOptions) Validate() error {
	for _, t := range o.scenario.Targets {
		if t.BodyFile != "" {
			return usageErrorf("%s: target %q reads bodyFile %s, which the attacker pods do not have: inline it as body", o.path, t.Name, t.BodyFile)
		}
	}
	if len(o.scenario.Protos) > 0 {
		return usageErrorf("%s: protos %s are files the attacker pods do not have: a load job's gRPC targets are resolved by server reflection, so drop protos and register reflection on the server",
			o.path, strings.Join(o.scenario.Protos, ", "))
	}
	if o.replicas < 1 || o.replicas > 1000 {
		return usageErrorf("invalid --replicas %d: between 1 and 1000", o.replicas)
	}
	if o.name == "" {
		base := strings.TrimSuffix(filepath.Base(o.path), filepath.Ext(o.path))
		o.name = "loadtest-" + strings.Trim(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return '-'
		}, base), "-")
	}
	if errs := validation.IsDNS1123Label(o.name); len(errs) > 0 {
		return usageErrorf("invalid Job name %q: %s; set --name", o.name, strings.Join(errs, "; "))
	}
	if !o.apply && o.dryRun != "none" {
		return usageErrorf("--dry-run applies to --apply only (without --apply nothing is sent)")
	}
	dry, err := kube.ParseDryRun(o.dryRun)
	if err != nil || dry == kube.DryRunClient {
		return usageErrorf("invalid --dry-run %q: use none or server (leave out --apply to only print)", o.dryRun)
	}
	o.dry = dry
	return nil
}

func (o *loadJobOptions) namespace() (string, *kube.Clients, error) {
	if !o.apply {
		if ns := o.f.ConfigFlags.Namespace; ns != nil && *ns != "" {
			return *ns, nil, nil
		}
		return "default", nil, nil
	}
	c, err := o.f.Clients()
	if err != nil {
		return "", nil, err
	}
	return c.Namespace, c, nil
}

func (o *loadJobOptions) Run(ctx context.Context) error {
	dry := o.dry
	ns, c, err := o.namespace()
	if err != nil {
		return err
	}
	objs, err := loadjob.Render(loadjob.Options{
		Name: o.name, Namespace: ns, Image: o.image, ServiceAccount: o.serviceAccount, Replicas: o.replicas,
		Scenario: o.data, Thresholds: o.scenario.Thresholds,
	})
	if err != nil {
		return usageErrorf("%w", err)
	}
	out := o.Out
	if !o.apply {
		for i, obj := range objs {
			b, err := yaml.Marshal(obj.Object)
			if err != nil {
				return fmt.Errorf("encode %s: %w", kube.Describe(obj), err)
			}
			if i > 0 {
				fmt.Fprintln(out, "---")
			}
			if _, err := out.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	for _, obj := range objs {
		if _, err := c.Apply(ctx, obj, kube.ApplyOptions{DryRun: dry}); err != nil {
			return fmt.Errorf("apply %s: %w", kube.Describe(obj), err)
		}
		suffix := ""
		if dry == kube.DryRunServer {
			suffix = " (server dry run)"
		}
		fmt.Fprintf(out, "%s applied%s\n", describeShort(obj), suffix)
	}
	return nil
}

func describeShort(obj *unstructured.Unstructured) string {
	return strings.ToLower(obj.GetKind()) + "/" + obj.GetName()
}
