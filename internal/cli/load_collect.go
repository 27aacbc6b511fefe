package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/load"
	loadjob "github.com/trafficctl/trafficctl/pkg/load/job"
	"github.com/trafficctl/trafficctl/pkg/report"
)

var (
	loadCollectShort = "Merge the reports of a finished load job's attackers and check its thresholds"
	loadCollectLong  = `Read the JSON report each attacker pod of a load job printed to its log (through the API
server), merge them (histograms merged, not averaged) and check the scenario's thresholds:
exit 3 when one is breached, 4 while the job is still running.`
	loadCollectExample = `  trafficctl load collect loadtest-scenario -n emojivoto
  trafficctl load collect loadtest-scenario -n emojivoto -o html > report.html`
)

type loadCollectOptions struct {
	genericiooptions.IOStreams
	f *Factory
	oneArg
	format string
	logs   func(c *kube.Clients) loadjob.LogReader
}

func newLoadCollectCommand(f *Factory) *cobra.Command {
	o := &loadCollectOptions{IOStreams: f.Streams, f: f, logs: func(c *kube.Clients) loadjob.LogReader { return loadjob.PodLogs(c.Kube) }}
	cmd := newCommand("collect JOB", loadCollectShort, loadCollectLong, loadCollectExample, cobra.ExactArgs(1), o)
	addFormatFlag(cmd, &o.format)
	return cmd
}

func (o *loadCollectOptions) Validate() error {
	return validateFormat(o.format)
}

func (o *loadCollectOptions) Run(ctx context.Context) error {
	name := o.arg
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
	out := o.Out
	title := fmt.Sprintf("trafficctl load collect %s/%s (%d attackers)", c.Namespace, name, res.Replicas)
	switch formatKind(o.format) {
	case outputJSON:
		err = printObject(out, o.format, res)
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
