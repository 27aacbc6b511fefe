package canary

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

func specConfigMap(name, spec string, created time.Time) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{kube.LabelCanarySpec: "true"},
			CreationTimestamp: metav1.NewTime(created)},
		Data: map[string]string{SpecKey: spec},
	}
}

// TestControllerSync: the controller refuses (and records) a second spec on an apex, and a
// panic in one rollout neither stops another nor restarts with the same spec.
func TestControllerSync(t *testing.T) {
	other := strings.NewReplacer("name: web", "name: api", "apex: web-svc", "apex: api-svc", "web-v", "api-v").Replace(minimal)
	tests := []struct {
		name      string
		cms       []*corev1.ConfigMap
		panicFor  string
		wantStart []string // specs started by the first sync
		wantEvent string   // reason of a Warning Event
	}{
		{name: "two specs on one apex: the older runs, the newer is refused",
			cms: []*corev1.ConfigMap{
				specConfigMap("b", strings.Replace(minimal, "name: web", "name: web-b", 1), time.Unix(20, 0)),
				specConfigMap("a", minimal, time.Unix(10, 0)),
			},
			wantStart: []string{"web"}, wantEvent: "ApexConflict"},
		{name: "a panicking rollout is held; the other runs",
			cms:       []*corev1.ConfigMap{specConfigMap("a", minimal, time.Unix(10, 0)), specConfigMap("b", other, time.Unix(10, 0))},
			panicFor:  "web",
			wantStart: []string{"api", "web"}, wantEvent: "Panicked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var objs []runtime.Object
			for _, cm := range tt.cms {
				objs = append(objs, cm)
			}
			k := fake.NewClientset(objs...)
			mu := make(chan struct{}, 1) // guards started
			var started []string
			c := &Controller{Kube: k, Actor: "test",
				NewRouter: func(ctx context.Context, kind, ns, apex string) (split.Router, error) {
					name := strings.TrimSuffix(apex, "-svc")
					mu <- struct{}{}
					started = append(started, name)
					<-mu
					if name == tt.panicFor {
						panic("boom")
					}
					return nil, errors.New("no router in this test")
				},
				NewProvider: func(string) (metrics.Provider, error) { return nil, errors.New("unused") },
			}
			c.running, c.invalid, c.held = map[string]bool{}, map[string]string{}, map[string]string{}
			c.events = newEventRecorder(k, c.Actor)
			for i := 0; i < 3; i++ { // later syncs must neither restart the held rollout nor refuse twice
				if err := c.sync(ctx); err != nil {
					t.Fatal(err)
				}
				c.wg.Wait()
				if i == 0 {
					mu <- struct{}{}
					got := strings.Join(slices.Sorted(slices.Values(started)), ",")
					<-mu
					if got != strings.Join(tt.wantStart, ",") {
						t.Fatalf("started %s, want %v", got, tt.wantStart)
					}
				}
			}
			c.events.close() // the recorder writes in the background: wait for its Events
			evs, err := k.CoreV1().Events("ns").List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range evs.Items {
				if e.Reason == tt.wantEvent && e.Type == corev1.EventTypeWarning {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d Warning Events %s, want 1: %+v", n, tt.wantEvent, evs.Items)
			}
			if tt.panicFor != "" {
				mu <- struct{}{}
				defer func() { <-mu }()
				for _, s := range started[len(tt.wantStart):] {
					if s == tt.panicFor {
						t.Fatalf("held rollout %s restarted: %v", s, started)
					}
				}
			}
		})
	}
}
