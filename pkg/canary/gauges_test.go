package canary

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := NewGauges(reg)
	c := specWith(t, "")
	g.observe("emojivoto", c, &State{Phase: PhaseProgressing, Weight: 25})
	g.observe("emojivoto", c, &State{Phase: PhaseRolledBack, Weight: 0})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "phase" {
					key += "/" + l.GetValue()
				}
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"trafficctl_canary_weight":                 0,
		"trafficctl_canary_phase/RolledBack":       1,
		"trafficctl_canary_phase/Progressing":      0,
		"trafficctl_canary_phase/Promoted":         0,
		"trafficctl_canary_phase/AwaitingApproval": 0,
		"trafficctl_canary_phase/DeadlineExceeded": 0,
	}
	for k, v := range want {
		if gv, ok := got[k]; !ok || gv != v {
			t.Errorf("%s = %v (present %v), want %v", k, gv, ok, v)
		}
	}
	var none *Gauges
	none.observe("ns", c, &State{}) // no gauges configured: a no-op
}
