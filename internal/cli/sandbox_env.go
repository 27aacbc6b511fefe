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
	state *sandbox.State
}

func newSandboxEnvCommand(f *Factory) *cobra.Command {
	o := &sandboxEnvOptions{sandboxDirOptions: sandboxDirOptions{IOStreams: f.Streams}}
	return newSandboxDirCommand("env", sandboxEnvShort, sandboxEnvExample, o, &o.dir)
}

// Complete reads the running sandbox's state from --dir.
func (o *sandboxEnvOptions) Complete(*cobra.Command, []string) (err error) {
	o.state, err = sandbox.Load(o.dir)
	return sandboxErr(err)
}

func (o *sandboxEnvOptions) Run(context.Context) error {
	st := o.state
	fmt.Fprintf(o.Out, "export KUBECONFIG=%q\nexport TRAFFICCTL_SANDBOX_PROMETHEUS=%q\nexport TRAFFICCTL_SANDBOX_WEB=%q\nexport TRAFFICCTL_SANDBOX_METRICS=%q\n",
		st.Kubeconfig, st.Prometheus, st.Web, "http://"+st.Metrics+"/metrics")
	return nil
}
