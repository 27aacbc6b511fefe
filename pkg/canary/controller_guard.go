package canary

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// claimApexes decides, for one sync, which spec ConfigMap owns each apex: the oldest
// (creation time, then name). Two specs steering one apex would otherwise take turns starting
// and failing forever. It returns, per ConfigMap key ("ns/name"), the key of the ConfigMap that
// owns the apex when that is another one.
func claimApexes(items []corev1.ConfigMap, apexOf func(cm *corev1.ConfigMap) (string, bool)) map[string]string {
	order := make([]*corev1.ConfigMap, len(items))
	for i := range items {
		order[i] = &items[i]
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	owner := map[string]string{}
	lost := map[string]string{}
	for _, cm := range order {
		apex, ok := apexOf(cm)
		if !ok {
			continue
		}
		key := cm.Namespace + "/" + cm.Name
		if o, taken := owner[apex]; taken {
			lost[key] = o
			continue
		}
		owner[apex] = key
	}
	return lost
}

// refuse records, once per reason, that the controller will not run the spec in ConfigMap key:
// a line on Out and a Warning Event on the rollout's state.
func (c *Controller) refuse(ctx context.Context, key, ns, apex, reason, msg string) {
	if c.invalid[key] == msg {
		return
	}
	c.invalid[key] = msg
	c.printf("%s: %s", key, msg)
	c.events.emit(ns, apex, reason, corev1.EventTypeWarning, msg)
}

// recoverRollout turns a panic in one rollout's goroutine into a held rollout: the process and
// every other rollout go on; the panic is printed with its stack, recorded as a Warning Event
// and in the rollout's state message, and the spec is not started again until it changes (a
// restart would panic again).
func (c *Controller) recoverRollout(ctx context.Context, key, ns string, spec *Canary) {
	v := recover()
	if v == nil {
		return
	}
	msg := fmt.Sprintf("canary %s panicked: %v; holding it until its spec changes", spec.Metadata.Name, v)
	c.printf("%s: %s\n%s", key, msg, debug.Stack())
	c.mu.Lock()
	c.held[key] = spec.Hash()
	c.mu.Unlock()
	c.events.emit(ns, spec.Spec.Apex, "Panicked", corev1.EventTypeWarning, msg)
	// Best effort: surface it in `canary status` when the rollout has a state.
	_, _ = NewStore(c.Kube, ns).Update(ctx, spec.Spec.Apex, func(r *Record) (*Entry, error) {
		if r.State.Phase.Terminal() || r.State.Name != spec.Metadata.Name {
			return nil, errStale
		}
		r.State.Message = msg
		return &Entry{Time: time.Now(), Canary: r.State.Name, SpecHash: r.State.SpecHash, Event: "hold", Actor: c.Actor,
			Step: r.State.Step, WeightBefore: r.State.Weight, WeightAfter: r.State.Weight, Phase: r.State.Phase, Reason: msg}, nil
	})
}

// isHeld reports whether the rollout of apexKey panicked with this very spec.
func (c *Controller) isHeld(apexKey string, spec *Canary) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.held[apexKey]
	return ok && h == spec.Hash()
}
