package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

// canarySpecFlags are the Canary spec's settings as flags: with a FILE they override the
// file's values, without one they are the whole spec.
type canarySpecFlags struct {
	name, apex, stable, canary, router, prometheus string
	steps, gates                                   []int
	stepWeight, minRequests                        int
	interval, scrape, deadline                     time.Duration
	minSuccess, maxP99, maxP99Ratio                float64
	onNoData, onBackendDown                        string

	// fs and args are the command's flags and arguments, taken by complete.
	fs   *pflag.FlagSet
	args []string
}

func (s *canarySpecFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&s.name, "name", "", "rollout name (default: the apex's name)")
	fs.StringVar(&s.apex, "apex", "", "apex Service that clients call")
	fs.StringVar(&s.stable, "stable", "", "stable version as SERVICE[:DEPLOYMENT] (the Deployment defaults to the Service's name)")
	fs.StringVar(&s.canary, "canary", "", "canary version as SERVICE[:DEPLOYMENT]")
	fs.StringVar(&s.router, "router", "", "split router: auto, smi, gateway or linkerd")
	fs.IntSliceVar(&s.steps, "steps", nil, fmt.Sprintf("canary weights in percent, ending at 100 (default %v)", canary.DefaultSteps))
	fs.IntVar(&s.stepWeight, "step-weight", 0, "instead of --steps: step by this weight up to 100")
	fs.IntSliceVar(&s.gates, "gates", nil, "weights at which to wait for `trafficctl canary promote`")
	fs.DurationVar(&s.interval, "interval", canary.DefaultInterval, "analysis interval, and the shortest time at a step")
	fs.DurationVar(&s.scrape, "scrape-interval", canary.DefaultScrape, "Prometheus' scrape interval")
	fs.IntVar(&s.minRequests, "min-requests", canary.DefaultMinRequests, "canary requests a step needs before it can pass")
	fs.DurationVar(&s.deadline, "deadline", canary.DefaultDeadline, "roll back and exit 4 when no verdict is reached by then")
	fs.StringVar(&s.prometheus, "prometheus", "", "Prometheus URL")
	fs.Float64Var(&s.minSuccess, "min-success-rate", canary.DefaultMinSuccess, "minimum success rate in percent (sequential test against the stable version)")
	fs.Float64Var(&s.maxP99, "max-p99", 0, "maximum canary p99 latency in ms (0: no absolute bound)")
	fs.Float64Var(&s.maxP99Ratio, "max-p99-ratio", 0, "maximum canary p99 relative to stable's (0: no relative bound)")
	fs.StringVar(&s.onNoData, "on-no-data", string(canary.DefaultOnNoData), "hold or rollback when there is no data")
	fs.StringVar(&s.onBackendDown, "on-backend-down", string(canary.DefaultOnBackendDown), "hold or rollback when Prometheus is down")
}

// complete takes the command's flags and its FILE argument (if any) for build.
func (s *canarySpecFlags) complete(cmd *cobra.Command, args []string) {
	s.fs, s.args = cmd.Flags(), args
}

// given reports whether a FILE or any flag was given.
func (s *canarySpecFlags) given() bool {
	return len(s.args) == 1 || s.fs.NFlag() > 0
}

// build returns the spec from the FILE (if any) with the changed flags applied.
func (s *canarySpecFlags) build() (*canary.Canary, error) {
	fs, args := s.fs, s.args
	c := &canary.Canary{APIVersion: canary.APIVersion, Kind: canary.Kind}
	if len(args) == 1 {
		var err error
		if c, err = parseSpecFile(args[0]); err != nil {
			return nil, err
		}
	} else if s.apex == "" || s.stable == "" || s.canary == "" {
		return nil, usageErrorf("give a spec FILE, or at least --apex, --stable and --canary")
	}
	sp := &c.Spec
	set := func(name string, apply func()) {
		if fs.Changed(name) {
			apply()
		}
	}
	set("apex", func() { sp.Apex = s.apex })
	set("stable", func() { sp.Stable = workload(s.stable) })
	set("canary", func() { sp.Canary = workload(s.canary) })
	set("router", func() { sp.Router = s.router })
	set("steps", func() { sp.Steps, sp.StepWeight, sp.MaxWeight = s.steps, 0, 0 })
	set("step-weight", func() { sp.Steps, sp.StepWeight, sp.MaxWeight = nil, s.stepWeight, 100 })
	set("gates", func() { sp.Gates = s.gates })
	set("interval", func() { sp.Interval = s.interval })
	set("scrape-interval", func() { sp.ScrapeInterval = s.scrape })
	set("min-requests", func() { sp.MinRequests = s.minRequests })
	set("deadline", func() { sp.Deadline = s.deadline })
	set("prometheus", func() { sp.Prometheus = s.prometheus })
	set("on-no-data", func() { sp.OnNoData = canary.Action(s.onNoData) })
	set("on-backend-down", func() { sp.OnBackendDown = canary.Action(s.onBackendDown) })
	if fs.Changed("min-success-rate") || len(args) == 0 {
		v := s.minSuccess
		setMetric(sp, canary.Metric{Name: "success-rate", Type: canary.MetricSuccessRate, Min: &v})
	}
	if fs.Changed("max-p99") || fs.Changed("max-p99-ratio") {
		m := canary.Metric{Name: "p99", Type: canary.MetricLatency, Quantile: 0.99, MaxRatio: s.maxP99Ratio}
		if s.maxP99 > 0 {
			v := s.maxP99
			m.Max = &v
		}
		setMetric(sp, m)
	}
	if c.Metadata.Name == "" {
		c.Metadata.Name = s.name
		if c.Metadata.Name == "" {
			c.Metadata.Name = sp.Apex
		}
	} else if fs.Changed("name") {
		c.Metadata.Name = s.name
	}
	c.Default()
	if errs := c.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Path + ": " + e.Msg
		}
		return nil, usageErrorf("%v: %s", canary.ErrInvalidSpec, strings.Join(msgs, "; "))
	}
	return c, nil
}

// setMetric replaces the spec's metric of m's type (or adds it).
func setMetric(sp *canary.Spec, m canary.Metric) {
	for i := range sp.Metrics {
		if sp.Metrics[i].Type == m.Type && m.Type != canary.MetricCustom {
			m.Name = sp.Metrics[i].Name
			sp.Metrics[i] = m
			return
		}
	}
	sp.Metrics = append(sp.Metrics, m)
}

func workload(s string) canary.Workload {
	svc, dep, ok := strings.Cut(s, ":")
	if !ok {
		dep = svc
	}
	return canary.Workload{Service: svc, Deployment: dep}
}
