package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/internal/sandbox"
)

var (
	sandboxEnvShort   = "Print shell exports for the running sandbox (eval \"$(trafficctl sandbox env)\")"
	sandboxEnvExample = `  eval "$(trafficctl sandbox env)"; curl "$TRAFFICCTL_SANDBOX_WEB/api/list"`
)

type sandboxEnvOptions struct {
	sandboxDirOptions
}

func newSandboxEnvCommand(f *Factory) *cobra.Command {
	o := &sandboxEnvOptions{sandboxDirOptions{IOStreams: f.Streams}}
	cmd := newSandboxDirCommand("env", o, &o.dir)
	cmd.Short, cmd.Example = sandboxEnvShort, sandboxEnvExample
	return cmd
}

func (o *sandboxEnvOptions) Run(context.Context) error {
	st, err := sandbox.Load(o.dir)
	if err != nil {
		return sandboxErr(err)
	}
	fmt.Fprintf(o.Out, "export KUBECONFIG=%q\nexport TRAFFICCTL_SANDBOX_PROMETHEUS=%q\nexport TRAFFICCTL_SANDBOX_WEB=%q\nexport TRAFFICCTL_SANDBOX_METRICS=%q\n",
		st.Kubeconfig, st.Prometheus, st.Web, "http://"+st.Metrics+"/metrics")
	return nil
}
