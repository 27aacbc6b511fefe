package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/load"
)

// TestCollectJob applies a rendered load job to a real API server, plays the part of the
// absent kubelets (pods and job status), and collects the attackers' reports from their logs.
func TestCollectJob(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t)
	c := env.Clients(t, ns)
	ctx := context.Background()

	objs, err := Render(Options{
		Name: "loadtest-demo", Namespace: ns, Image: Image("v0.1.0"), Replicas: 2,
		Scenario: []byte(demoScenario), Thresholds: load.Thresholds{P99: 100 * time.Millisecond, MinSuccess: 99.9},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if _, err := c.Apply(ctx, o, kube.ApplyOptions{}); err != nil {
			t.Fatalf("apply %s: %v", kube.Describe(o), err)
		}
	}
	job, err := c.Kube.BatchV1().Jobs(ns).Get(ctx, "loadtest-demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *job.Spec.Parallelism != 2 || *job.Spec.Completions != 2 || job.Spec.Template.Spec.Containers[0].Image != Image("v0.1.0") {
		t.Fatalf("job spec %+v", job.Spec)
	}

	logs := map[string]string{}
	reader := func(_ context.Context, _, pod, container string) (io.ReadCloser, error) {
		if container != AttackerContainer {
			return nil, fmt.Errorf("container %q", container)
		}
		return io.NopCloser(strings.NewReader(logs[pod])), nil
	}
	if _, err := Collect(ctx, c.Kube, reader, ns, "loadtest-demo"); !errors.Is(err, ErrNotFinished) {
		t.Fatalf("collect of a running job: %v, want ErrNotFinished", err)
	}

	start := time.Now()
	for i, lat := range []time.Duration{10 * time.Millisecond, 300 * time.Millisecond} {
		name := fmt.Sprintf("loadtest-demo-%d", i)
		b, err := json.Marshal(recorded(100, lat, start))
		if err != nil {
			t.Fatal(err)
		}
		logs[name] = string(b)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"batch.kubernetes.io/job-name": "loadtest-demo"}},
			Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: AttackerContainer, Image: Image("v0.1.0")}}},
		}
		created, err := c.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{FieldManager: kube.FieldManager})
		if err != nil {
			t.Fatal(err)
		}
		created.Status.Phase = corev1.PodSucceeded
		if _, err := c.Kube.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: kube.FieldManager}); err != nil {
			t.Fatal(err)
		}
	}
	now := metav1.Now()
	job.Status = batchv1.JobStatus{Succeeded: 2, CompletedIndexes: "0-1", StartTime: &now}
	if _, err := c.Kube.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{FieldManager: kube.FieldManager}); err != nil {
		t.Fatal(err)
	}

	res, err := Collect(ctx, c.Kube, reader, ns, "loadtest-demo")
	if err != nil {
		t.Fatal(err)
	}
	if res.Replicas != 2 || res.Report.Requests != 200 {
		t.Errorf("merged %d replicas, %d requests; want 2 and 200", res.Replicas, res.Report.Requests)
	}
	// Half the requests took 300 ms: the merged p99 breaches the 100 ms threshold.
	if res.Passed || res.Thresholds[0].Name != "p99" || res.Thresholds[0].Passed {
		t.Errorf("thresholds %+v, want the p99 breached", res.Thresholds)
	}
}

const demoScenario = `name: emojivoto
targets:
  - {name: list, url: http://web-svc.emojivoto:8080/api/list, weight: 60}
  - {name: vote, method: POST, url: "http://web-svc.emojivoto:8080/api/vote?choice=:joy:", weight: 30}
  - {name: leaderboard, url: http://web-svc.emojivoto:8080/api/leaderboard, weight: 10}
stages:
  - {name: warm-up, type: ramp, from: 10, to: 100, duration: 10s}
  - {type: constant, rate: 100, duration: 30s}
thresholds: {p99: 100ms, minSuccess: 99.9}
`

// recorded is the JSON report of n hits of the given latency, one every 10 ms from start.
func recorded(n int, lat time.Duration, start time.Time) *load.Report {
	rec := load.NewRecorder(load.DefaultLateThreshold, time.Second)
	for i := range n {
		at := start.Add(time.Duration(i) * 10 * time.Millisecond)
		h := &load.Hit{Intended: at, Started: at}
		h.Result = vegeta.Result{Code: 200, Timestamp: at, Latency: lat}
		rec.Add(h)
	}
	return rec.Report()
}
