package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/internal/sandbox"
)

var (
	sandboxReportShort = "Write DIR/report.html from the results make demo leaves in DIR"
	sandboxReportLong  = `Render the demo's results (load.json from load run, canary-history.json from canary history,
balance-MODE.json from load attack and the data plane's metrics around them) as one
self-contained HTML page: load charts, the canary timeline with weights and success rates, the
audit log and the balancing comparison. Prints a summary and the report's path.`
	sandboxReportExample = `  trafficctl sandbox report /tmp/trafficctl-demo`
)

type sandboxReportOptions struct {
	genericiooptions.IOStreams
	dir string
}

func newSandboxReportCommand(f *Factory) *cobra.Command {
	o := &sandboxReportOptions{IOStreams: f.Streams}
	return newCommand("report DIR", sandboxReportShort, sandboxReportLong, sandboxReportExample, cobra.ExactArgs(1), o)
}

func (o *sandboxReportOptions) Complete(_ *cobra.Command, args []string) error {
	o.dir = args[0]
	return nil
}

func (o *sandboxReportOptions) Validate() error { return nil }

func (o *sandboxReportOptions) Run(context.Context) error {
	path, summary, err := sandbox.WriteReport(o.dir)
	if err != nil {
		return err
	}
	for _, row := range summary {
		fmt.Fprintf(o.Out, "  %s: %s\n", row[0], row[1])
	}
	fmt.Fprintf(o.Out, "report: %s\n", path)
	return nil
}
