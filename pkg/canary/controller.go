package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

// SpecKey is the ConfigMap key of the Canary spec. The controller finds Canary specs in
// ConfigMaps labelled kube.LabelCanarySpec=true, under SpecKey. Canary specs are plain files for
// `canary run`; a ConfigMap carries the same file to the controller without a CRD to install.
const SpecKey = "canary.yaml"

// Controller runs the engine for every Canary spec ConfigMap in a namespace (or all).
type Controller struct {
	Kube kubernetes.Interface
	// Namespace limits the controller to one namespace; empty means all.
	Namespace string
	// NewRouter and NewProvider build a rollout's router and metrics provider.
	NewRouter   func(ctx context.Context, kind, ns, apex string) (split.Router, error)
	NewProvider func(url string) (metrics.Provider, error)
	Actor       string
	Out         io.Writer
	Gauges      *Gauges
	// Resync is how often specs are listed (5 s by default).
	Resync time.Duration

	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
	invalid map[string]string
	events  *eventRecorder
	// held maps an apex key to the hash of the spec whose rollout panicked.
	held map[string]string
}

// Run syncs until ctx ends, then waits for the running rollouts to stop. A stopped rollout is
// resumed by the next leader.
func (c *Controller) Run(ctx context.Context) error {
	if c.Resync == 0 {
		c.Resync = 5 * time.Second
	}
	c.running, c.invalid, c.held = map[string]bool{}, map[string]string{}, map[string]string{}
	c.events = newEventRecorder(c.Kube, c.Actor)
	defer c.events.close()
	defer c.wg.Wait()
	t := time.NewTicker(c.Resync)
	defer t.Stop()
	for {
		if err := c.sync(ctx); err != nil && ctx.Err() == nil {
			c.printf("sync: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (c *Controller) printf(format string, args ...any) {
	if c.Out != nil {
		fmt.Fprintf(c.Out, "%s controller: "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
	}
}

func (c *Controller) sync(ctx context.Context) error {
	l, err := c.Kube.CoreV1().ConfigMaps(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelCanarySpec + "=true"})
	if err != nil {
		return fmt.Errorf("list Canary spec ConfigMaps: %w", err)
	}
	lost := claimApexes(l.Items, func(cm *corev1.ConfigMap) (string, bool) {
		spec, err := Parse([]byte(cm.Data[SpecKey]))
		if err != nil {
			return "", false
		}
		return spec.Namespace(cm.Namespace) + "/" + spec.Spec.Apex, true
	})
	for i := range l.Items {
		cm := &l.Items[i]
		key := cm.Namespace + "/" + cm.Name
		spec, err := Parse([]byte(cm.Data[SpecKey]))
		if err != nil {
			if c.invalid[key] != err.Error() {
				c.invalid[key] = err.Error()
				c.printf("%s: %v", key, err)
				c.events.emit(cm.Namespace, cm.Name, "InvalidSpec", corev1.EventTypeWarning, err.Error())
			}
			continue
		}
		ns := spec.Namespace(cm.Namespace)
		if owner, ok := lost[key]; ok {
			c.refuse(ctx, key, ns, spec.Spec.Apex, "ApexConflict", fmt.Sprintf(
				"refused: apex %s/%s is already steered by the Canary spec in ConfigMap %s; delete one of the two specs", ns, spec.Spec.Apex, owner))
			continue
		}
		delete(c.invalid, key)
		if ns != cm.Namespace {
			c.printf("%s: spec names namespace %s: a spec must live in its rollout's namespace", key, ns)
			continue
		}
		apexKey := ns + "/" + spec.Spec.Apex
		c.mu.Lock()
		busy := c.running[apexKey]
		c.mu.Unlock()
		if busy || c.isHeld(apexKey, spec) {
			continue
		}
		if rec, err := NewStore(c.Kube, ns).Get(ctx, spec.Spec.Apex); err == nil && rec.State.Phase.Terminal() &&
			rec.State.Name == spec.Metadata.Name && rec.State.SpecHash == spec.Hash() {
			continue // this spec's rollout already ended
		} else if err != nil && !errors.Is(err, ErrNoRollout) {
			return err
		}
		c.start(ctx, apexKey, ns, spec)
	}
	return nil
}

func (c *Controller) start(ctx context.Context, key, ns string, spec *Canary) {
	c.mu.Lock()
	c.running[key] = true
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			delete(c.running, key)
			c.mu.Unlock()
		}()
		defer c.recoverRollout(ctx, key, ns, spec)
		router, err := c.NewRouter(ctx, spec.Spec.Router, ns, spec.Spec.Apex)
		if err != nil {
			c.printf("%s: router: %v", key, err)
			return
		}
		prov, err := c.NewProvider(spec.Spec.Prometheus)
		if err != nil {
			c.printf("%s: metrics: %v", key, err)
			return
		}
		e := &Engine{Kube: c.Kube, Router: router, Provider: prov, Actor: c.Actor, Out: c.Out, Gauges: c.Gauges}
		phase, err := e.Run(ctx, spec, ns)
		switch {
		case err != nil && ctx.Err() == nil:
			c.printf("%s: canary %s: %v", key, spec.Metadata.Name, err)
		case err == nil:
			c.printf("%s: canary %s ended %s", key, spec.Metadata.Name, phase)
		}
	}()
}
