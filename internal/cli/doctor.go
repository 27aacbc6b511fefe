package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/doctor"
)

var doctorLong = `Check a cluster for what breaks Linkerd's move from ServiceProfiles and TrafficSplits to
Gateway API routes:

  linkerd-version          the control plane's version (linkerd-config ConfigMap, else its
                           deployments' labels or images)
  gateway-api-version      the Gateway API CRD bundle and channel (their bundle-version and
                           channel annotations) against what that Linkerd release supports
  gateway-api-owner        who owns those CRDs: Linkerd's CRD chart (2.18 is the last release
                           that installs them), another Helm release or controller
                           (managedFields), or a person with kubectl
  linkerd-smi              the deprecated SMI extension and its TrafficSplits
  profile-overrides-route  ServiceProfiles that override HTTPRoutes of the same Service
  steered-twice            Services whose weights Flagger, Argo Rollouts and hand-set
                           TrafficSplits/HTTPRoutes fight over

Each finding prints with the command that fixes it. The compatibility table doctor judges by is
printed with its sources (-o yaml shows it whole). Exit 3 when a finding is an error.`

var doctorExample = `  trafficctl doctor
  trafficctl doctor -n emojivoto            # per-object checks in one namespace only
  trafficctl doctor --linkerd-namespace linkerd-prod -o json`

type doctorOptions struct {
	genericiooptions.IOStreams
	f *Factory

	linkerdNamespace string
	output           string
}

func newDoctorCommand(f *Factory) *cobra.Command {
	o := &doctorOptions{IOStreams: f.Streams, f: f}
	cmd := &cobra.Command{
		Use:     "doctor",
		Short:   "Check Linkerd, Gateway API CRDs and leftover ServiceProfiles/TrafficSplits before migrating",
		Long:    doctorLong,
		Example: doctorExample,
		Args:    cobra.NoArgs,
		RunE:    runOptions(o),
	}
	cmd.Flags().StringVar(&o.linkerdNamespace, "linkerd-namespace", "linkerd", "namespace of Linkerd's control plane")
	addOutputFlag(cmd, &o.output, outputText, outputText, outputYAML, outputJSON)
	return cmd
}

func (o *doctorOptions) Complete(_ *cobra.Command, _ []string) error { return nil }

func (o *doctorOptions) Validate() error {
	if o.linkerdNamespace == "" {
		return usageErrorf("--linkerd-namespace must not be empty")
	}
	return validateOutput(o.output, outputText, outputYAML, outputJSON)
}

func (o *doctorOptions) Run(ctx context.Context) error {
	c, err := o.f.Clients()
	if err != nil {
		return err
	}
	opts := doctor.Options{LinkerdNamespace: o.linkerdNamespace}
	if c.NamespaceExplicit {
		opts.Namespace = c.Namespace
	}
	r, err := doctor.Run(ctx, c, opts)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	if o.output != outputText {
		if err := printObject(o.Out, o.output, r); err != nil {
			return err
		}
	} else {
		printDoctorText(o.Out, r)
	}
	if n := r.Errors(); n > 0 {
		return withExitCode(ExitCheckFailed, fmt.Errorf("%d findings are errors", n))
	}
	return nil
}

func printDoctorText(w io.Writer, r *doctor.Report) {
	ver := r.Linkerd.Version
	if ver == "" {
		ver = "not found"
	}
	fmt.Fprintf(w, "Linkerd:     %s (namespace %s)\n", ver, r.Linkerd.Namespace)
	if r.GatewayAPI.Installed {
		fmt.Fprintf(w, "Gateway API: %s, %s channel, owner %s (%d CRDs)\n", r.GatewayAPI.BundleVersion, r.GatewayAPI.Channel, r.GatewayAPI.Owner, len(r.GatewayAPI.CRDs))
	} else {
		fmt.Fprintln(w, "Gateway API: not installed")
	}
	fmt.Fprintln(w)
	for _, f := range r.Findings {
		fmt.Fprintln(w, f)
		if f.Fix != "" {
			fmt.Fprintf(w, "  fix: %s\n", f.Fix)
		}
	}
	fmt.Fprintln(w, "\nCompatibility (Linkerd, installs Gateway API CRDs, supports up to, reads fields up to):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, rel := range r.Compatibility {
		fmt.Fprintf(tw, "  %s\t%v\t%s\t%s\t%s\n", rel.Linkerd, rel.InstallsGatewayAPI, rel.MaxGatewayAPI, rel.ReadsFieldsUpTo, rel.Sources[0])
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "  (all sources: trafficctl doctor -o yaml)")
}
