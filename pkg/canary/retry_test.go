package canary

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

// TestRetryTransient: a rollout's step that fails on a transient API error (overload, timeout,
// unavailable) is retried with backoff; a permanent error or a cancelled run is not.
func TestRetryTransient(t *testing.T) {
	old := transientBackoff
	transientBackoff.Duration = time.Millisecond
	t.Cleanup(func() { transientBackoff = old })
	gr := schema.GroupResource{Resource: "configmaps"}
	tests := []struct {
		name      string
		failures  int
		err       error
		wantCalls int
		wantErr   bool
	}{
		{"unavailable twice", 2, apierrors.NewServiceUnavailable("etcd leader change"), 3, false},
		{"too many requests", 1, apierrors.NewTooManyRequests("slow down", 1), 2, false},
		{"server timeout", 3, apierrors.NewServerTimeout(gr, "get", 1), 4, false},
		{"wrapped internal error", 1, fmt.Errorf("set weights: %w", apierrors.NewInternalError(errors.New("boom"))), 2, false},
		{"unavailable for good", 100, apierrors.NewServiceUnavailable("down"), 6, true},
		{"not found is permanent", 100, apierrors.NewNotFound(gr, "x"), 1, true},
		{"forbidden is permanent", 100, apierrors.NewForbidden(gr, "x", errors.New("rbac")), 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, k := newTestStore(t)
			c := specWith(t, "")
			if _, _, err := s.Create(context.Background(), c, NewState(c, time.Unix(0, 0)), Entry{Event: "start"}); err != nil {
				t.Fatal(err)
			}
			calls := 0
			k.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
				calls++
				if calls <= tt.failures {
					return true, nil, tt.err
				}
				return false, nil, nil
			})
			err := retryTransient(context.Background(), func() error {
				_, err := s.Get(context.Background(), c.Spec.Apex)
				return err
			})
			if calls != tt.wantCalls || (err != nil) != tt.wantErr {
				t.Fatalf("%d calls, err %v; want %d calls, error %v", calls, err, tt.wantCalls, tt.wantErr)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_ = retryTransient(ctx, func() error { calls++; return apierrors.NewServiceUnavailable("x") })
	if calls != 1 {
		t.Fatalf("a cancelled run retried %d times", calls)
	}
}
