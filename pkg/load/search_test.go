package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeProber models a target that meets the SLO up to capacity and breaches it above.
func fakeProber(capacity float64, calls *[]float64) Prober {
	return func(_ context.Context, rate float64, conns int) (*Probe, error) {
		*calls = append(*calls, rate)
		p := &Probe{Rate: rate, Connections: conns, Requests: 100, Success: 1, AchievedRate: rate, CorrectedP99: 10 * time.Millisecond}
		if rate > capacity {
			p.CorrectedP99 = time.Second
		}
		return p, nil
	}
}

func TestCapacitySearch(t *testing.T) {
	slo := SLO{P99: 100 * time.Millisecond, MinSuccess: 99.9}
	tests := []struct {
		name     string
		capacity float64
		start    float64
		wantErr  error
	}{
		{"bisects within 2 %", 1234, 50, nil},
		{"capacity at start", 50, 50, nil},
		{"capped by max rate", 1e9, 50, nil},
		{"lowest rate fails", 10, 50, ErrSLONeverMet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []float64
			res, err := Capacity(context.Background(), fakeProber(tt.capacity, &calls), CapacityOptions{SLO: slo, Start: tt.start, MaxRate: 100000, Precision: 0.02})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := min(tt.capacity, 100000)
			if res.MaxRate > want || res.MaxRate < want*0.98 {
				t.Errorf("max rate %v, want within 2 %% below %v (probes %v)", res.MaxRate, want, calls)
			}
			if len(calls) > 30 {
				t.Errorf("%d probes: the search should be logarithmic", len(calls))
			}
		})
	}
}

// Known capacity: 8 slots of 50 ms serve 160 requests per second.
func TestCapacityKnownServer(t *testing.T) {
	skipShort(t)
	srv := startServer(t, serverSpec{delay: 50 * time.Millisecond, slots: 8})
	ts := targetsFor(t, srv.URL)
	// The SLO leaves 100 ms for the scheduling noise of a shared 2-core machine (the p99 of a
	// short probe is close to its max) while a queue above capacity breaches it within a few
	// percent: at 160+e per second for 2.5 s the last request waits 2.5e/160 s.
	probe := NewProber(func(c int) *Attacker { return NewAttacker(Connections(c)) }, ts, 2500*time.Millisecond, 200*time.Millisecond)
	res, err := Capacity(context.Background(), probe, CapacityOptions{
		SLO: SLO{P99: 150 * time.Millisecond, MinSuccess: 99}, Start: 40, MaxRate: 5000, Precision: 0.02,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRate < 144 || res.MaxRate > 176 {
		t.Errorf("max rate %v, want within 10 %% of 160 (probes: %d)", res.MaxRate, len(res.Probes))
		for _, p := range res.Probes {
			t.Logf("%v/s: corrected p99 %v passed %v late %d", p.Rate, p.CorrectedP99, p.Passed, p.LateSends)
		}
	}
	t.Logf("max rate %v/s, first failing %v/s, %d probes, generator limited: %v", res.MaxRate, res.FirstFailing, len(res.Probes), res.GeneratorLimited)
}

func TestSweepConnections(t *testing.T) {
	skipShort(t)
	srv := startServer(t, serverSpec{delay: 20 * time.Millisecond})
	probe := NewProber(func(c int) *Attacker { return NewAttacker(Connections(c)) }, targetsFor(t, srv.URL), time.Second, 0)
	probes, err := Sweep(context.Background(), probe, []float64{100}, []int{1, 4})
	if err != nil {
		t.Fatal(err)
	}
	// One 20 ms connection carries 50/s: at 100/s hits queue; four carry 200/s.
	if one, four := probes[0], probes[1]; one.CorrectedP99 < 200*time.Millisecond || four.CorrectedP99 > 60*time.Millisecond {
		t.Errorf("corrected p99: 1 conn %v (want queueing), 4 conns %v (want ~20ms)", one.CorrectedP99, four.CorrectedP99)
	}
	if srv.accepted.Load() != 5 {
		t.Errorf("accepted %d connections, want 1 + 4", srv.accepted.Load())
	}
}

func TestCompareMaxRate(t *testing.T) {
	slo := SLO{P99: 100 * time.Millisecond, MinSuccess: 99.9}
	opts := CapacityOptions{SLO: slo, Start: 50, MaxRate: 1000, Precision: 0.02}
	tests := []struct {
		name             string
		baseCap, tgCap   float64
		wantBase, wantTg float64
		wantNotes        [2]string
	}{
		{"target slower", 1e9, 400, 1000, 400, [2]string{"not breached up to the max rate probed", ""}},
		{"target never meets the SLO", 600, 10, 600, 0, [2]string{"", "SLO not met even at 50/s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bc, tc []float64
			m, err := CompareMaxRate(context.Background(), fakeProber(tt.baseCap, &bc), fakeProber(tt.tgCap, &tc), opts)
			if err != nil {
				t.Fatal(err)
			}
			near := func(got, want float64) bool { return got <= want && got >= want*0.98 }
			if !near(m.Baseline, tt.wantBase) || !near(m.Target, tt.wantTg) || m.Delta != m.Target-m.Baseline {
				t.Errorf("baseline %v target %v delta %v, want %v and %v", m.Baseline, m.Target, m.Delta, tt.wantBase, tt.wantTg)
			}
			if m.BaselineSearch == nil || m.TargetSearch == nil || len(m.BaselineSearch.Probes) != len(bc) || len(m.TargetSearch.Probes) != len(tc) {
				t.Errorf("searches not kept: %+v", m)
			}
			tab := m.Table()
			for i, want := range tt.wantNotes {
				if got := tab.Rows[i][2]; got != want {
					t.Errorf("row %d note %q, want %q", i, got, want)
				}
			}
			if got := tab.Rows[2][1]; got != fmt.Sprintf("%+g/s", m.Delta) {
				t.Errorf("delta cell %q", got)
			}
		})
	}
	failing := func(context.Context, float64, int) (*Probe, error) { return nil, context.Canceled }
	if _, err := CompareMaxRate(context.Background(), fakeProber(1e9, new([]float64)), failing, opts); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "max rate of the target") {
		t.Errorf("err = %v, want the target's failure wrapped", err)
	}
}
