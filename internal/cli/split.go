package cli

import (
	"github.com/spf13/cobra"
)

var (
	splitShort = "Read and shift traffic weights between versions of a Service"
	splitLong  = `Split an apex Service's traffic (web-svc) between one Service per version (web-v1, web-v2).

Linkerd balances the requests; trafficctl only writes the weights, through one of:
  gateway  HTTPRoutes of gateway.networking.k8s.io attached to the apex (Linkerd's current way)
  linkerd  HTTPRoutes of policy.linkerd.io attached to the apex
  smi      a TrafficSplit (split.smi-spec.io v1alpha1 or v1alpha2; needs linkerd-smi, deprecated)
With --router auto (the default) trafficctl uses whatever already steers the apex, else the
first of these the cluster serves. HTTPRoute weights go on every rule of every route attached
to the apex, and a catch-all route is created when none exists, so no path bypasses the split.
Workloads are never renamed, cloned or scaled.`
)

func newSplitCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "split",
		Short: splitShort,
		Long:  splitLong,
	}
	cmd.AddCommand(newSplitGetCommand(f), newSplitSetCommand(f), newSplitABCommand(f))
	return cmd
}
