package canary

import "github.com/prometheus/client_golang/prometheus"

// Gauges export rollouts for Prometheus, so that Grafana can annotate releases:
// trafficctl_canary_weight is the canary's traffic weight in percent, trafficctl_canary_phase
// is 1 for the rollout's current phase and 0 for the others.
type Gauges struct {
	weight *prometheus.GaugeVec
	phase  *prometheus.GaugeVec
}

var allPhases = []Phase{PhaseProgressing, PhaseAwaitingApproval, PhasePaused, PhasePromoted, PhaseRolledBack, PhaseAborted, PhaseDeadlineExceeded}

// NewGauges registers the gauges with reg.
func NewGauges(reg prometheus.Registerer) *Gauges {
	labels := []string{"namespace", "apex", "canary"}
	g := &Gauges{
		weight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trafficctl_canary_weight", Help: "Canary traffic weight in percent."}, labels),
		phase:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trafficctl_canary_phase", Help: "1 for the rollout's current phase."}, append(labels, "phase")),
	}
	reg.MustRegister(g.weight, g.phase)
	return g
}

func (g *Gauges) observe(ns string, c *Canary, st *State) {
	if g == nil {
		return
	}
	g.weight.WithLabelValues(ns, c.Spec.Apex, c.Metadata.Name).Set(float64(st.Weight))
	for _, p := range allPhases {
		v := 0.0
		if p == st.Phase {
			v = 1
		}
		g.phase.WithLabelValues(ns, c.Spec.Apex, c.Metadata.Name, string(p)).Set(v)
	}
}
