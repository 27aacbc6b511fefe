package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/load"
)

var (
	loadMergeShort = "Merge the results of attackers that ran at the same time into one report"
	loadMergeLong  = `Merge result files of attackers that ran at the same time (the replicas of a load job, or
several 'load attack' processes): JSON reports written with -o json, or results files in
vegeta's encodings (--output files, 'vegeta attack' output). Histograms are merged, so the
percentiles are those of all requests together, not averages of percentiles; attempted
rates add up.

Latency over time is merged on the wall clock: the per-interval histograms of every file are
laid on one timeline starting at the earliest file's first send, at the coarsest interval of
the inputs, so replicas that started a few hundred milliseconds apart still add up second by
second and the HTML report charts latency over time. Reports written by an older trafficctl
carry no interval histograms: the merged report then has no latency over time (a note on
stderr names the files).`
	loadMergeExample = `  trafficctl load merge attacker-0.json attacker-1.json attacker-2.json
  trafficctl load merge results-*.bin -o html > report.html`
)

type loadMergeOptions struct {
	genericiooptions.IOStreams
	format        string
	lateThreshold time.Duration
	files         []string
}

func newLoadMergeCommand(f *Factory) *cobra.Command {
	o := &loadMergeOptions{IOStreams: f.Streams, lateThreshold: load.DefaultLateThreshold}
	cmd := newCommand("merge FILE...", loadMergeShort, loadMergeLong, loadMergeExample, cobra.MinimumNArgs(1), o)
	addFormatFlag(cmd, &o.format)
	return cmd
}

func (o *loadMergeOptions) Complete(_ *cobra.Command, args []string) error {
	o.files = args
	return nil
}

func (o *loadMergeOptions) Validate() error {
	return validateFormat(o.format)
}

func (o *loadMergeOptions) Run(context.Context) error {
	files := o.files
	reps := make([]*load.Report, 0, len(files))
	var noSeries []string
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			return usageErrorf("open %s: %w", name, err)
		}
		rep, err := load.ReadReport(fh, o.lateThreshold)
		fh.Close()
		if err != nil {
			return usageErrorf("%s: %w", name, err)
		}
		reps = append(reps, rep)
		if !rep.HasSeriesHistograms() {
			noSeries = append(noSeries, name)
		}
	}
	merged, err := load.MergeReports(reps)
	if err != nil {
		return usageErrorf("%w", err)
	}
	if len(noSeries) > 0 {
		fmt.Fprintf(o.ErrOut, "note: no latency over time in the merged report: no interval histograms in %s (written by an older trafficctl?)\n", strings.Join(noSeries, ", "))
	}
	title := fmt.Sprintf("trafficctl load merge of %d files: %s", len(files), strings.Join(files, ", "))
	return writeReport(o.Out, o.format, title, merged)
}
