package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/load"
	loadjob "github.com/trafficctl/trafficctl/pkg/load/job"
	"github.com/trafficctl/trafficctl/pkg/report"
)

type loadJobOptions struct {
	f        *Factory
	name     string
	image    string
	replicas int32
	apply    bool
	dryRun   string

	path     string
	scenario *load.Scenario
	data     []byte
}

func newLoadJobCommand(f *Factory) *cobra.Command {
	o := &loadJobOptions{f: f}
	cmd := &cobra.Command{
		Use:   "job SCENARIO.yaml --replicas N",
		Short: "Render (or apply) a Kubernetes Job of N attacker pods running a scenario",
		Long: `Render a ConfigMap holding the scenario and an Indexed Job of N attacker pods (the mesh's
"testing pod": meshed when its namespace is injected), each running the whole scenario, so
the total load is N times the scenario's rates. Each pod prints its JSON report, histograms
included, to its log; 'trafficctl load collect JOB' merges them and checks the thresholds.

Without --apply the objects are printed as YAML, for kubectl or GitOps.`,
		Example: `  trafficctl load job scenario.yaml --replicas 4 -n emojivoto > loadtest.yaml
  trafficctl load job scenario.yaml --replicas 4 -n emojivoto --apply
  trafficctl load collect loadtest-scenario -n emojivoto`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.name, "name", "", "name of the Job and ConfigMap (default: loadtest-<scenario file name>)")
	cmd.Flags().StringVar(&o.image, "image", loadjob.DefaultImage, "attacker image (built from deploy/trafficctl)")
	cmd.Flags().Int32Var(&o.replicas, "replicas", 1, "number of attacker pods")
	cmd.Flags().BoolVar(&o.apply, "apply", false, "apply to the cluster (server-side apply) instead of printing")
	cmd.Flags().StringVar(&o.dryRun, "dry-run", "none", "with --apply: none or server")
	return cmd
}

func (o *loadJobOptions) Complete(args []string) error {
	o.path = args[0]
	var err error
	if o.data, err = readFileArg(o.path); err != nil {
		return usageErrorf("read scenario: %w", err)
	}
	if o.scenario, err = load.ParseScenario(o.data, filepath.Dir(o.path)); err != nil {
		return usageErrorf("%s: %w", o.path, err)
	}
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
	dry, err := kube.ParseDryRun(o.dryRun)
	if err != nil || dry == kube.DryRunClient {
		return usageErrorf("invalid --dry-run %q: use none or server (leave out --apply to only print)", o.dryRun)
	}
	ns, c, err := o.namespace()
	if err != nil {
		return err
	}
	objs, err := loadjob.Render(loadjob.Options{
		Name: o.name, Namespace: ns, Image: o.image, Replicas: o.replicas,
		Scenario: o.data, Thresholds: o.scenario.Thresholds,
	})
	if err != nil {
		return usageErrorf("%w", err)
	}
	out := o.f.Streams.Out
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

type loadCollectOptions struct {
	f      *Factory
	format string
	logs   func(c *kube.Clients) loadjob.LogReader
}

func newLoadCollectCommand(f *Factory) *cobra.Command {
	o := &loadCollectOptions{f: f, logs: func(c *kube.Clients) loadjob.LogReader { return loadjob.PodLogs(c.Kube) }}
	cmd := &cobra.Command{
		Use:   "collect JOB",
		Short: "Merge the reports of a finished load job's attackers and check its thresholds",
		Long: `Read the JSON report each attacker pod of a load job printed to its log (through the API
server), merge them (histograms merged, not averaged) and check the scenario's thresholds:
exit 3 when one is breached, 4 while the job is still running.`,
		Example: `  trafficctl load collect loadtest-scenario -n emojivoto
  trafficctl load collect loadtest-scenario -n emojivoto -o html > report.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateFormat(o.format); err != nil {
				return err
			}
			return o.Run(cmd.Context(), args[0])
		},
	}
	addFormatFlag(cmd, &o.format)
	return cmd
}

func (o *loadCollectOptions) Run(ctx context.Context, name string) error {
	c, err := o.f.Clients()
	if err != nil {
		return err
	}
	res, err := loadjob.Collect(ctx, c.Kube, o.logs(c), c.Namespace, name)
	switch {
	case errors.Is(err, loadjob.ErrNotFinished):
		return withExitCode(ExitUndecided, err)
	case err != nil:
		return err
	}
	out := o.f.Streams.Out
	title := fmt.Sprintf("trafficctl load collect %s/%s (%d attackers)", c.Namespace, name, res.Replicas)
	switch o.format {
	case outputJSON:
		err = printStructured(out, outputJSON, res)
	case outputHTML:
		p := load.AttackPage(title, res.Report)
		p.Tables = append(p.Tables, load.ThresholdTable(res.Thresholds))
		err = report.WriteHTML(out, p)
	default:
		fmt.Fprintf(out, "%d attackers merged\n", res.Replicas)
		err = load.WriteText(out, res.Report)
		if err == nil && len(res.Thresholds) > 0 {
			err = load.WriteTable(out, load.ThresholdTable(res.Thresholds))
		}
	}
	if err != nil {
		return err
	}
	if !res.Passed {
		return withExitCode(ExitCheckFailed, fmt.Errorf("SLO breached on the merged results of job %s/%s", c.Namespace, name))
	}
	return nil
}
