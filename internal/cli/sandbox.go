package cli

import (
	"github.com/spf13/cobra"
)

var (
	sandboxShort = "Run the whole product on this machine: API server, Prometheus, demo app, data plane"
	sandboxLong  = `Try trafficctl without a cluster. "sandbox up" starts, on 127.0.0.1 only, a real kube-apiserver
and etcd with the upstream Linkerd, Gateway API and SMI CRDs, a real Prometheus, an
Emojivoto-compatible demo app (web v1 and v2 as several processes each, emoji and voting over
gRPC) and a local data plane that sends web-svc's traffic where the live TrafficSplit or
HTTPRoute weights say, carries web's gRPC calls to emoji-svc and voting-svc, and exports
Linkerd's metrics for both. Point KUBECONFIG at it and use every other command as on a real
cluster; "sandbox set" injects failures and delays into web-v1, web-v2, emoji or voting.

The data plane is a stand-in for the parts of Linkerd that trafficctl depends on (weights,
header routes, latency-aware balancing, proxy metrics), not a production mesh.`
)

// newSandboxCommand builds the sandbox group; each subcommand lives in its own sandbox_*.go file.
func newSandboxCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: sandboxShort,
		Long:  sandboxLong,
	}
	cmd.AddCommand(newSandboxUpCommand(f), newSandboxDownCommand(f), newSandboxStatusCommand(f),
		newSandboxEnvCommand(f), newSandboxSetCommand(f), newSandboxBalanceCommand(f), newSandboxReportCommand(f),
		newSandboxServeCommand(f))
	return cmd
}
