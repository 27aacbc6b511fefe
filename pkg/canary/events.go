package canary

import (
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// eventFlushTimeout bounds how long closing an eventRecorder waits for its Events to be written.
const eventFlushTimeout = 5 * time.Second

// eventRecorder records rollout decisions as Kubernetes Events on the rollout's ConfigMap,
// through client-go's EventBroadcaster (which aggregates repeats and rate-limits spam). Events
// expire and are deduplicated, so they are a notification only; the audit log is the record.
//
// The broadcaster writes asynchronously; close waits (up to eventFlushTimeout) until every
// Event emitted is written, so that a short-lived command (`canary promote`) does not exit
// with its Event still queued.
type eventRecorder struct {
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	emitted     atomic.Int64
	written     atomic.Int64
}

// newEventRecorder returns a recorder writing through k as actor (the Events' reporting
// instance).
func newEventRecorder(k kubernetes.Interface, actor string) *eventRecorder {
	r := &eventRecorder{broadcaster: record.NewBroadcaster()}
	r.broadcaster.StartRecordingToSink(&countingSink{
		EventSink: &typedcorev1.EventSinkImpl{Interface: k.CoreV1().Events("")},
		written:   &r.written,
	})
	r.recorder = r.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{
		Component: kube.ReportingController, Host: truncate(actor, 128),
	})
	return r
}

// emit records one Event about apex's rollout in namespace ns. Best effort: the audit log
// already holds the decision.
func (r *eventRecorder) emit(ns, apex, reason, typ, msg string) {
	ref := &corev1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: ns, Name: StateName(apex)}
	r.emitted.Add(1)
	r.recorder.AnnotatedEventf(ref, map[string]string{kube.LabelCanaryApex: apex}, typ, reason, "%s", truncate(msg, 1000))
}

// close waits for the emitted Events to be written, up to eventFlushTimeout, and stops the
// broadcaster.
func (r *eventRecorder) close() {
	deadline := time.Now().Add(eventFlushTimeout)
	for r.written.Load() < r.emitted.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r.broadcaster.Shutdown()
}

// emitEvent records one Event with a recorder of its own, and waits for it to be written.
func emitEvent(k kubernetes.Interface, ns, apex, reason, typ, msg, actor string) {
	r := newEventRecorder(k, actor)
	r.emit(ns, apex, reason, typ, msg)
	r.close()
}

// countingSink counts the write attempts of Events (the broadcaster retries a failed one, so
// close may stop waiting before a retried Event is written: Events are best effort).
type countingSink struct {
	record.EventSink
	written *atomic.Int64
}

func (s *countingSink) Create(e *corev1.Event) (*corev1.Event, error) {
	defer s.written.Add(1)
	return s.EventSink.Create(e)
}

func (s *countingSink) Update(e *corev1.Event) (*corev1.Event, error) {
	defer s.written.Add(1)
	return s.EventSink.Update(e)
}

func (s *countingSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	defer s.written.Add(1)
	return s.EventSink.Patch(e, data)
}
