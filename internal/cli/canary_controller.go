package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/trafficctl/trafficctl/pkg/canary"
	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

var (
	canaryControllerShort = "Run the canary engine for every Canary spec ConfigMap, with leader election"
	canaryControllerLong  = `Watch ConfigMaps labelled trafficctl.dev/canary-spec=true (the Canary spec under the key
canary.yaml) in the namespace, or in every namespace with -A, and run each rollout with the same
engine as 'canary run'. With leader election (default) only one replica acts; when it dies the
next leader resumes every unfinished rollout from its state in the cluster.`
	canaryControllerExample = `  kubectl -n emojivoto create configmap web-canary --from-file=canary.yaml=web-canary.yaml
  kubectl -n emojivoto label configmap web-canary trafficctl.dev/canary-spec=true
  trafficctl canary controller -A --metrics-addr :9102`
)

type canaryControllerOptions struct {
	genericiooptions.IOStreams
	f              *Factory
	allNamespaces  bool
	leaderElect    bool
	leaseName      string
	leaseNamespace string
	metricsAddr    string
	resync         time.Duration
	promTimeout    time.Duration
}

func newCanaryControllerCommand(f *Factory) *cobra.Command {
	o := &canaryControllerOptions{IOStreams: f.Streams, f: f, leaderElect: true, leaseName: "trafficctl-canary-controller", resync: 5 * time.Second}
	cmd := newCommand("controller", canaryControllerShort, canaryControllerLong, canaryControllerExample, cobra.NoArgs, o)
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "watch Canary specs in every namespace")
	cmd.Flags().BoolVar(&o.leaderElect, "leader-elect", o.leaderElect, "elect a leader with a Lease so that only one replica acts")
	cmd.Flags().StringVar(&o.leaseName, "lease-name", o.leaseName, "name of the leader election Lease")
	cmd.Flags().StringVar(&o.leaseNamespace, "lease-namespace", "", "namespace of the Lease (default: $POD_NAMESPACE, else -n)")
	addMetricsAddrFlag(cmd, &o.metricsAddr)
	cmd.Flags().DurationVar(&o.resync, "resync", o.resync, "how often Canary specs are listed")
	addPromTimeoutFlag(cmd.Flags(), &o.promTimeout)
	return cmd
}

func (o *canaryControllerOptions) Complete(*cobra.Command, []string) error { return nil }

func (o *canaryControllerOptions) Validate() error {
	if o.resync < time.Second {
		return usageErrorf("--resync must be at least 1s")
	}
	if err := checkPromTimeout(o.promTimeout); err != nil {
		return err
	}
	return nil
}

func (o *canaryControllerOptions) Run(ctx context.Context) error {
	cl, err := o.f.Clients()
	if err != nil {
		return err
	}
	ns := cl.Namespace
	if o.allNamespaces {
		ns = metav1.NamespaceAll
	}
	host, _ := os.Hostname()
	identity := host + "-" + rand.String(5)
	ctl := &canary.Controller{Kube: cl.Kube, Namespace: ns, Out: o.Out, Resync: o.resync,
		Actor: whoAmI(ctx, cl, "canary controller "+identity),
		NewRouter: func(ctx context.Context, kind, ns, apex string) (split.Router, error) {
			return newCanaryRouter(ctx, cl, kind, ns, apex)
		},
		NewProvider: func(url string) (metrics.Provider, error) {
			return metrics.NewPrometheus(url, metrics.WithQueryTimeout(o.promTimeout))
		},
	}
	g, stop, err := serveGauges(o.metricsAddr)
	if err != nil {
		return err
	}
	defer stop()
	ctl.Gauges = g
	if !o.leaderElect {
		return ctl.Run(ctx)
	}
	leaseNS := o.leaseNamespace
	if leaseNS == "" {
		leaseNS = os.Getenv("POD_NAMESPACE")
	}
	if leaseNS == "" {
		leaseNS = cl.Namespace
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: o.leaseName, Namespace: leaseNS},
		Client:     cl.Kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	var runErr error
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock: lock, ReleaseOnCancel: true,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				fmt.Fprintf(o.Out, "%s leading (lease %s/%s)\n", identity, leaseNS, o.leaseName)
				runErr = ctl.Run(ctx)
			},
			OnStoppedLeading: func() { fmt.Fprintf(o.Out, "%s stopped leading\n", identity) },
		},
	})
	return runErr
}
