package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/pkg/load"
)

type loadMergeOptions struct {
	f             *Factory
	format        string
	lateThreshold time.Duration
}

func newLoadMergeCommand(f *Factory) *cobra.Command {
	o := &loadMergeOptions{f: f, lateThreshold: load.DefaultLateThreshold}
	cmd := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Merge the results of attackers that ran at the same time into one report",
		Long: `Merge result files of attackers that ran at the same time (the replicas of a load job, or
several 'load attack' processes): JSON reports written with -o json, or results files in
vegeta's encodings (--output files, 'vegeta attack' output). Histograms are merged, so the
percentiles are those of all requests together, not averages of percentiles; attempted
rates add up.

Latency over time is merged on the wall clock: the per-interval histograms of every file are
laid on one timeline starting at the earliest file's first send, at the coarsest interval of
the inputs, so replicas that started a few hundred milliseconds apart still add up second by
second and the HTML report charts latency over time. Reports written by an older trafficctl
carry no interval histograms: the merged report then has no latency over time (a note on
stderr names the files).`,
		Example: `  trafficctl load merge attacker-0.json attacker-1.json attacker-2.json
  trafficctl load merge results-*.bin -o html > report.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateFormat(o.format); err != nil {
				return err
			}
			return o.Run(args)
		},
	}
	addFormatFlag(cmd, &o.format)
	return cmd
}

func (o *loadMergeOptions) Run(files []string) error {
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
		fmt.Fprintf(o.f.Streams.ErrOut, "note: no latency over time in the merged report: no interval histograms in %s (written by an older trafficctl?)\n", strings.Join(noSeries, ", "))
	}
	title := fmt.Sprintf("trafficctl load merge of %d files: %s", len(files), strings.Join(files, ", "))
	return writeReport(o.f.Streams.Out, o.format, title, merged)
}
