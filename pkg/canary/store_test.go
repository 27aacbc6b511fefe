package canary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func newTestStore(t *testing.T) (*Store, *fake.Clientset) {
	t.Helper()
	k := fake.NewClientset()
	return NewStore(k, "ns"), k
}

func appendN(t *testing.T, s *Store, apex string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.Update(context.Background(), apex, func(r *Record) (*Entry, error) {
			return &Entry{Time: time.Unix(int64(i), 0), Event: "hold", Reason: strings.Repeat("x", 200)}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStoreCreateResumeBusy(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestStore(t)
	c := specWith(t, "")
	rec, created, err := s.Create(ctx, c, NewState(c, time.Unix(0, 0)), Entry{Event: "start"})
	if err != nil || !created || rec.State.Head == "" {
		t.Fatalf("create: %v %v %+v", err, created, rec)
	}
	// Same spec again: resume, not a new rollout.
	if _, created, err := s.Create(ctx, c, NewState(c, time.Unix(5, 0)), Entry{Event: "start"}); err != nil || created {
		t.Fatalf("second create of the same spec: created=%v err=%v", created, err)
	}
	// Another spec on the same apex while the first runs: refused.
	other := specWith(t, "  steps: [50, 100]\n")
	if _, _, err := s.Create(ctx, other, NewState(other, time.Unix(5, 0)), Entry{Event: "start"}); !errors.Is(err, ErrBusy) {
		t.Fatalf("two canaries on one apex: %v", err)
	}
	// Once the first ended, a new one starts and the log continues.
	if _, err := s.Update(ctx, c.Spec.Apex, func(r *Record) (*Entry, error) {
		r.State.Phase = PhasePromoted
		return &Entry{Event: "promote"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.Create(ctx, other, NewState(other, time.Unix(9, 0)), Entry{Event: "start"}); err != nil || !created {
		t.Fatalf("new rollout after the first ended: %v %v", created, err)
	}
	h, err := s.History(ctx, c.Spec.Apex)
	if err != nil || len(h) != 3 {
		t.Fatalf("history: %d entries, %v", len(h), err)
	}
}

func TestHistorySegmentsAndTampering(t *testing.T) {
	ctx := context.Background()
	old := SegmentLimit
	SegmentLimit = 2048
	t.Cleanup(func() { SegmentLimit = old })

	tests := []struct {
		name   string
		tamper func(t *testing.T, k *fake.Clientset)
		want   string
	}{
		{name: "intact"},
		{name: "edited entry", want: "entry 3 was modified", tamper: func(t *testing.T, k *fake.Clientset) {
			editLog(t, k, "trafficctl-canary-web-svc-log-0", func(lines []string) []string {
				lines[2] = strings.Replace(lines[2], `"event":"hold"`, `"event":"promote"`, 1)
				return lines
			})
		}},
		{name: "removed entry", want: "sequence number", tamper: func(t *testing.T, k *fake.Clientset) {
			editLog(t, k, "trafficctl-canary-web-svc-log-0", func(lines []string) []string { return append(lines[:1], lines[2:]...) })
		}},
		{name: "truncated tail", want: "anchor", tamper: func(t *testing.T, k *fake.Clientset) {
			editLog(t, k, "trafficctl-canary-web-svc", func(lines []string) []string { return lines[:len(lines)-1] })
		}},
		{name: "rehashed entry", want: "does not link", tamper: func(t *testing.T, k *fake.Clientset) {
			editLog(t, k, "trafficctl-canary-web-svc-log-0", func(lines []string) []string {
				var e Entry
				if err := json.Unmarshal([]byte(lines[1]), &e); err != nil {
					t.Fatal(err)
				}
				e.Reason = "forged"
				e.Hash = e.computeHash()
				b, _ := json.Marshal(e)
				lines[1] = string(b)
				return lines
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, k := newTestStore(t)
			c := specWith(t, "")
			if _, _, err := s.Create(ctx, c, NewState(c, time.Unix(0, 0)), Entry{Event: "start"}); err != nil {
				t.Fatal(err)
			}
			appendN(t, s, c.Spec.Apex, 30)
			rec, err := s.Get(ctx, c.Spec.Apex)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Segments) < 2 {
				t.Fatalf("want the log sealed into segments, got %d", len(rec.Segments))
			}
			if tt.tamper != nil {
				tt.tamper(t, k)
			}
			h, err := s.History(ctx, c.Spec.Apex)
			if tt.want == "" {
				if err != nil || len(h) != 31 {
					t.Fatalf("history: %d entries, %v", len(h), err)
				}
				return
			}
			if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrTampered containing %q", err, tt.want)
			}
		})
	}
}

// editLog rewrites a log ConfigMap as someone with write access could (immutable ConfigMaps
// can be deleted and recreated; the fake client does not enforce immutability anyway).
func editLog(t *testing.T, k *fake.Clientset, name string, edit func([]string) []string) {
	t.Helper()
	ctx := context.Background()
	cm, err := k.CoreV1().ConfigMaps("ns").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(cm.Data[keyLog], "\n"), "\n")
	cm.Data[keyLog] = strings.Join(edit(lines), "\n") + "\n"
	if _, err := k.CoreV1().ConfigMaps("ns").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryNonFiniteCheckValues: a check value JSON cannot encode (a custom query returning
// +Inf) must neither write an empty audit line nor make History report tampering.
func TestHistoryNonFiniteCheckValues(t *testing.T) {
	for _, v := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			ctx := context.Background()
			s, _ := newTestStore(t)
			c := specWith(t, "")
			if _, _, err := s.Create(ctx, c, NewState(c, time.Unix(0, 0)), Entry{Event: "start"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, c.Spec.Apex, func(r *Record) (*Entry, error) {
				return &Entry{Event: "rollback", Checks: []Check{{Metric: "ratio", Value: &v, Verdict: VerdictBad, Detail: "outside"}}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			appendN(t, s, c.Spec.Apex, 1)
			h, err := s.History(ctx, c.Spec.Apex)
			if err != nil || len(h) != 3 {
				t.Fatalf("history: %d entries, %v", len(h), err)
			}
			if ch := h[1].Checks[0]; ch.Value != nil || !strings.Contains(ch.Detail, fmt.Sprint(v)) {
				t.Fatalf("check %+v", ch)
			}
		})
	}
}

// TestPromoteGateAt100: `gates: [100]` stops before full promotion, and `canary promote`
// approves that gate (it used to refuse: the weight is never 100 before promotion).
func TestPromoteGateAt100(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestStore(t)
	c := specWith(t, "  gates: [100]\n")
	st := NewState(c, time.Unix(0, 0))
	st.Step, st.Weight, st.Phase = 3, 50, PhaseAwaitingApproval
	if _, _, err := s.Create(ctx, c, st, Entry{Event: "start"}); err != nil {
		t.Fatal(err)
	}
	rec, err := (&Control{Store: s, Actor: "alice"}).Promote(ctx, c.Spec.Apex)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.State.approved(100) || rec.State.Phase != PhaseProgressing {
		t.Fatalf("state after promote %+v", rec.State)
	}
	if d := Decide(c, rec.State, Result{Verdict: VerdictPass}, time.Unix(1, 0)); d.Outcome != OutcomePromote {
		t.Fatalf("decision after approval %+v", d)
	}
}
