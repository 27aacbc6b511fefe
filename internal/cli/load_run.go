package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/load"
	"github.com/trafficctl/trafficctl/pkg/report"
)

var (
	loadRunShort = "Run a scenario: weighted targets, stages, per-stage and per-target results, SLO thresholds"
	loadRunLong  = `Run a load scenario described in YAML: weighted targets, a profile of stages (constant, ramp,
step, sine) run back to back, and SLO thresholds checked on the latencies corrected for
coordinated omission. A breached threshold exits 3, so the command can gate a CI pipeline.

  name: emojivoto
  targets:
    - {name: list, url: http://127.0.0.1:8080/api/list, weight: 60}
    - {name: vote, method: POST, url: "http://127.0.0.1:8080/api/vote?choice=:joy:", weight: 30}
    - {name: leaderboard, url: http://127.0.0.1:8080/api/leaderboard, weight: 10}
  stages:
    - {name: warm-up, type: ramp, from: 10, to: 100, duration: 10s}
    - {type: constant, rate: 100, duration: 30s}
    - {type: step, from: 100, to: 400, steps: 4, duration: 40s}
    - {type: sine, mean: 200, amplitude: 100, period: 20s, duration: 40s}
  thresholds: {p99: 100ms, minSuccess: 99.9}
  connections: 16        # optional, as --connections
  timeout: 5s            # optional, as --timeout
  headers: {X-Test: "1"} # optional, on every target

gRPC targets are written grpc://HOST:PORT/package.Service/Method with the JSON request in
body or bodyFile. Their types come from the server's reflection service, or from .proto
files for a server without one (paths relative to the scenario file; --proto and -I given
on the command line replace them):

  targets:
    - {name: list-all, url: grpc://127.0.0.1:8080/emojivoto.v1.EmojiService/ListAll, body: "{}"}
  protos: [Emoji.proto]  # optional, as --proto
  importPaths: [proto]   # optional, as -I`
	loadRunExample = `  trafficctl load run scenario.yaml
  trafficctl load run scenario.yaml -o json > result.json
  trafficctl load run scenario.yaml -o html > report.html`
)

type loadRunOptions struct {
	genericiooptions.IOStreams
	flags        attackFlags
	format       string
	connections  int
	failOnBreach bool

	path     string
	scenario *load.Scenario
}

func newLoadRunCommand(f *Factory) *cobra.Command {
	o := &loadRunOptions{IOStreams: f.Streams}
	cmd := newCommand("run SCENARIO.yaml", loadRunShort, loadRunLong, loadRunExample, cobra.ExactArgs(1), o)
	o.flags.add(cmd.Flags())
	addFormatFlag(cmd, &o.format)
	cmd.Flags().BoolVar(&o.failOnBreach, "fail-on-breach", true, "exit 3 when a threshold is breached (load job replicas report and leave the verdict to 'load collect')")
	return cmd
}

func (o *loadRunOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := o.flags.complete(); err != nil {
		return err
	}
	o.path = args[0]
	data, err := readFileArg(o.path)
	if err != nil {
		return usageErrorf("read scenario: %w", err)
	}
	var opts []load.ScenarioOption
	if o.flags.protos != nil {
		opts = append(opts, load.OverrideProtos(o.flags.protos))
	}
	if o.scenario, err = load.ParseScenario(data, filepath.Dir(o.path), opts...); err != nil {
		return usageErrorf("%s: %w", o.path, err)
	}
	// Flags given on the command line win over the scenario's settings.
	o.connections = o.scenario.Connections
	if cmd.Flags().Changed("connections") || o.connections == 0 {
		o.connections = o.flags.connections
	}
	if o.scenario.Timeout > 0 && !cmd.Flags().Changed("timeout") {
		o.flags.timeout = o.scenario.Timeout
	}
	return nil
}

func (o *loadRunOptions) Validate() error {
	return validateFormat(o.format)
}

func (o *loadRunOptions) Run(ctx context.Context) error {
	ts, err := o.scenario.TargetSet()
	if err != nil {
		return usageErrorf("%s: %w", o.path, err)
	}
	if err := checkReachable(ctx, ts.URL(0), o.flags.timeout); err != nil {
		return err
	}
	pacer, err := load.NewStagesPacer(o.scenario.Stages)
	if err != nil {
		return usageErrorf("%s: %w", o.path, err)
	}
	progress, endProgress := progressFunc(o.ErrOut, pacer.Duration())
	res, err := load.RunScenario(ctx, o.flags.attacker(o.connections), o.scenario, load.RunOptions{Name: o.scenario.Name, Progress: progress})
	endProgress()
	interrupted := errors.Is(err, context.Canceled)
	if err != nil && !interrupted {
		return err
	}
	title := "trafficctl load run " + o.path
	var werr error
	switch formatKind(o.format) {
	case outputJSON:
		werr = printObject(o.Out, o.format, res)
	case outputHTML:
		werr = report.WriteHTML(o.Out, load.ScenarioPage(title, res))
	default:
		werr = load.WriteText(o.Out, res.Total)
		for _, t := range load.ScenarioTables(res) {
			if werr == nil {
				werr = load.WriteTable(o.Out, t)
			}
		}
	}
	if werr != nil {
		return werr
	}
	if interrupted {
		return fmt.Errorf("scenario interrupted after %d requests: the report is partial", res.Total.Requests)
	}
	if !res.Passed && o.failOnBreach {
		var breached []string
		for _, t := range res.Thresholds {
			if !t.Passed {
				breached = append(breached, fmt.Sprintf("%s %s (limit %s)", t.Name, t.Actual, t.Limit))
			}
		}
		return withExitCode(ExitCheckFailed, fmt.Errorf("SLO breached: %s", strings.Join(breached, ", ")))
	}
	return nil
}
