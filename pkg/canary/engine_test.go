package canary

import (
	"context"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/pkg/split"
)

// memRouter keeps one split in memory.
type memRouter struct {
	backends []split.Backend
	writes   int
}

func (m *memRouter) Kind() split.Kind { return split.KindSMI }

func (m *memRouter) Get(_ context.Context, ns, apex string) (*split.Split, error) {
	if m.backends == nil {
		return nil, split.ErrNotFound
	}
	return &split.Split{Namespace: ns, Apex: apex, Backends: m.backends, Uniform: true}, nil
}

func (m *memRouter) SetWeights(_ context.Context, _, _ string, bs []split.Backend, _ split.SetOptions) (*split.Result, error) {
	m.backends = append([]split.Backend(nil), bs...)
	m.writes++
	return &split.Result{}, nil
}

func TestEnsureWeights(t *testing.T) {
	tests := []struct {
		name       string
		split      []split.Backend
		step       int
		wantWrites int
	}{
		{name: "late write after an abort", split: []split.Backend{{Service: "web-v1", Weight: 50}, {Service: "web-v2", Weight: 50}}, step: 1, wantWrites: 1},
		{name: "already rolled back", split: []split.Backend{{Service: "web-v1", Weight: 100}, {Service: "web-v2", Weight: 0}}, step: 1},
		{name: "same proportions, other scale", split: []split.Backend{{Service: "web-v1", Weight: 1000}}, step: 1},
		{name: "foreign backend", split: []split.Backend{{Service: "web-v1", Weight: 90}, {Service: "web-v3", Weight: 10}}, step: 1, wantWrites: 1},
		{name: "no traffic ever moved", step: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := newTestStore(t)
			c := specWith(t, "")
			st := NewState(c, time.Unix(0, 0))
			st.Step, st.Phase, st.Weight = tt.step, PhaseAborted, 0
			rec, _, err := s.Create(ctx, c, st, Entry{Event: "start"})
			if err != nil {
				t.Fatal(err)
			}
			r := &memRouter{backends: tt.split}
			e := &Engine{Kube: nil, Router: r}
			if err := e.ensureWeights(ctx, s, rec); err != nil {
				t.Fatal(err)
			}
			if r.writes != tt.wantWrites {
				t.Fatalf("%d writes, want %d", r.writes, tt.wantWrites)
			}
			if tt.wantWrites > 0 && (r.backends[0].Weight != 100 || r.backends[1].Weight != 0) {
				t.Fatalf("split %v, want all traffic to stable", r.backends)
			}
		})
	}
}
