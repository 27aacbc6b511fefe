package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/testing/metricsim"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/canary"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/metrics"
	"github.com/trafficctl/trafficctl/pkg/split"
)

const apex = "web-svc"

// world is one test's namespace with the apex, two versions, the data-plane stand-in and a real
// Prometheus scraping it.
type world struct {
	t      *testing.T
	env    *testenv.Env
	ns     string
	cl     *kube.Clients
	router split.Router
	dp     *metricsim.Server
	prom   string
	stop   func() error
}

func newWorld(t *testing.T, canaryBehaviour metricsim.Behaviour, canaryAvailable bool) *world {
	t.Helper()
	env := testenv.Require(t)
	ns := env.Namespace(t)
	w := &world{t: t, env: env, ns: ns, cl: env.Clients(t, ns)}
	ctx := context.Background()
	for _, name := range []string{apex, "web-v1", "web-v2"} {
		sel := name
		if name == apex {
			sel = "web"
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": sel}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
		if _, err := w.cl.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w.deployment("web-v1", true)
	w.deployment("web-v2", canaryAvailable)
	r, err := split.New(ctx, w.cl, split.KindAuto, ns, apex, split.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.router = r
	w.dp, err = metricsim.New(metricsim.Config{Namespace: ns, RPS: 100, Weights: metricsim.RouterWeights(r, ns, apex),
		Backends: []metricsim.Backend{
			{Service: "web-v1", Deployment: "web-v1", Behaviour: metricsim.Behaviour{ErrorRate: 0.001, LatencyMS: 20}},
			{Service: "web-v2", Deployment: "web-v2", Behaviour: canaryBehaviour},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.dp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.dp.Stop)
	p := testenv.StartPrometheus(t, testenv.PromConfig{Targets: []string{w.dp.Addr()}, Interval: time.Second})
	w.prom, w.stop = p.URL, p.Stop
	return w
}

func (w *world) deployment(name string, available bool) {
	ctx := context.Background()
	labels := map[string]string{"app": name}
	one := int32(1)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.test/web:1"}}}}}}
	if _, err := w.cl.Kube.AppsV1().Deployments(w.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	if available {
		w.makeAvailable(name)
	}
}

// makeAvailable patches the Deployment's status as a controller would: the test API server runs
// no controllers.
func (w *world) makeAvailable(name string) {
	ctx := context.Background()
	d, err := w.cl.Kube.AppsV1().Deployments(w.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
			LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	if _, err := w.cl.Kube.AppsV1().Deployments(w.ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

const specTmpl = `apiVersion: trafficctl.dev/v1alpha1
kind: Canary
metadata:
  name: web
  namespace: %s
spec:
  apex: web-svc
  stable: {service: web-v1, deployment: web-v1}
  canary: {service: web-v2, deployment: web-v2}
  steps: [10, 50, 100]
  interval: 2s
  scrapeInterval: 1s
  minRequests: 20
  deadline: %s
  prometheus: %s
  metrics:
  - {name: success-rate, type: success-rate, min: 99}
  - {name: p99, type: latency, max: 300, maxRatio: 3}
%s`

func (w *world) spec(deadline time.Duration, extra string) *canary.Canary {
	w.t.Helper()
	c, err := canary.Parse([]byte(fmt.Sprintf(specTmpl, w.ns, deadline, w.prom, extra)))
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) specFile(deadline time.Duration, extra string) string {
	p := filepath.Join(w.t.TempDir(), "canary.yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(specTmpl, w.ns, deadline, w.prom, extra)), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) engine(out *bytes.Buffer) *canary.Engine {
	prom, err := metrics.NewPrometheus(w.prom, metrics.WithQueryTimeout(2*time.Second))
	if err != nil {
		w.t.Fatal(err)
	}
	e := &canary.Engine{Kube: w.cl.Kube, Router: w.router, Provider: prom, Actor: "e2e test"}
	if out != nil {
		e.Out = out
	}
	return e
}

func (w *world) run(c *canary.Canary) (canary.Phase, string) {
	w.t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	phase, err := w.engine(&out).Run(ctx, c, w.ns)
	w.t.Logf("engine output:\n%s", out.String())
	if err != nil {
		w.t.Fatalf("run: %v", err)
	}
	return phase, out.String()
}

// weights returns the live split as service=weight.
func (w *world) weights() map[string]int64 {
	s, err := w.router.Get(context.Background(), w.ns, apex)
	if err != nil {
		w.t.Fatalf("get split: %v", err)
	}
	out := map[string]int64{}
	for _, b := range s.Backends {
		out[b.Service] = b.Weight
	}
	return out
}

func (w *world) history() []canary.Entry {
	w.t.Helper()
	h, err := canary.NewStore(w.cl.Kube, w.ns).History(context.Background(), apex)
	if err != nil {
		w.t.Fatalf("history: %v", err)
	}
	return h
}

// checkSteps verifies the audit log's shape: weights only move step to step in order, every
// advance follows a passing analysis at the weight it leaves, and none is skipped or repeated.
func checkSteps(t *testing.T, h []canary.Entry, steps []int) (maxWeight int) {
	t.Helper()
	reached := map[int]int{}
	for _, e := range h {
		if e.WeightAfter > maxWeight {
			maxWeight = e.WeightAfter
		}
		switch e.Event {
		case "advance", "promote":
			reached[e.WeightAfter]++
			if e.WeightBefore != 0 && e.Verdict != canary.VerdictPass {
				t.Errorf("entry %d: %s from %d%% without a passing analysis (%s)", e.Seq, e.Event, e.WeightBefore, e.Verdict)
			}
			idx := -1
			for i, s := range steps {
				if s == e.WeightAfter {
					idx = i
				}
			}
			if idx < 0 || (idx == 0 && e.WeightBefore != 0) || (idx > 0 && steps[idx-1] != e.WeightBefore) {
				t.Errorf("entry %d: jump %d%% -> %d%% is not one step of %v", e.Seq, e.WeightBefore, e.WeightAfter, steps)
			}
		}
	}
	for wgt, n := range reached {
		if n != 1 {
			t.Errorf("weight %d%% reached %d times", wgt, n)
		}
	}
	return maxWeight
}

func TestE2EBrokenCanaryRolledBack(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 1, LatencyMS: 20}, true)
	start := time.Now()
	phase, _ := w.run(w.spec(time.Minute, ""))
	took := time.Since(start)
	if phase != canary.PhaseRolledBack {
		t.Fatalf("phase %s, want RolledBack", phase)
	}
	if got := w.weights(); got["web-v1"] != 100 || got["web-v2"] != 0 {
		t.Fatalf("weights after rollback %v", got)
	}
	h := w.history()
	if max := checkSteps(t, h, []int{10, 50, 100}); max != 10 {
		t.Errorf("broken canary reached %d%%", max)
	}
	last := h[len(h)-1]
	if last.Event != "rollback" || last.Verdict != canary.VerdictBad || len(last.Checks) == 0 || last.Checks[0].Value == nil {
		t.Errorf("last entry %+v", last)
	}
	leaked := w.dp.Served()["web-v2"]
	t.Logf("rolled back after %s, canary served %.0f requests (all failed)", took.Round(time.Millisecond), leaked)
	if took > 15*time.Second {
		t.Errorf("rollback took %s", took)
	}
}

// A fixed canary rolled out right after a broken one was rolled back must be judged on its own
// requests: the broken run's last failures, served after Prometheus's last scrape, must not land
// in the new run's first step.
func TestE2EFixedCanaryRightAfterRollback(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 1, LatencyMS: 20}, true)
	if phase, _ := w.run(w.spec(time.Minute, "")); phase != canary.PhaseRolledBack {
		t.Fatalf("broken canary: phase %s, want RolledBack", phase)
	}
	w.dp.Set("web-v2", metricsim.Behaviour{ErrorRate: 0, LatencyMS: 20})
	if phase, out := w.run(w.spec(time.Minute, "")); phase != canary.PhasePromoted {
		t.Fatalf("fixed canary: phase %s, want Promoted:\n%s", phase, out)
	}
}

func TestE2EHealthyPromotedWithGateAndAvailability(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0.001, LatencyMS: 25}, false)
	c := w.spec(2*time.Minute, "  gates: [50]\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	var phase canary.Phase
	var runErr error
	var out bytes.Buffer
	go func() {
		defer close(done)
		phase, runErr = w.engine(&out).Run(ctx, c, w.ns)
	}()
	// The canary Deployment is not available: no traffic may move.
	time.Sleep(4 * time.Second)
	if _, err := w.router.Get(ctx, w.ns, apex); !errors.Is(err, split.ErrNotFound) {
		t.Fatalf("split changed before the canary was available: %v", err)
	}
	w.makeAvailable("web-v2")
	// Wait at the gate, then approve like `trafficctl canary promote`.
	store := canary.NewStore(w.cl.Kube, w.ns)
	deadline := time.Now().Add(time.Minute)
	for {
		rec, err := store.Get(ctx, apex)
		if err == nil && rec.State.Phase == canary.PhaseAwaitingApproval {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never reached the gate: %+v", rec)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := w.weights(); got["web-v2"] != 50 {
		t.Fatalf("at the gate with weights %v", got)
	}
	if _, err := (&canary.Control{Store: store, Actor: "alice"}).Promote(ctx, apex); err != nil {
		t.Fatal(err)
	}
	<-done
	t.Logf("engine output:\n%s", out.String())
	if runErr != nil || phase != canary.PhasePromoted {
		t.Fatalf("phase %s, err %v", phase, runErr)
	}
	if got := w.weights(); got["web-v1"] != 0 || got["web-v2"] != 100 {
		t.Fatalf("weights after promotion %v", got)
	}
	h := w.history()
	checkSteps(t, h, c.Steps())
	var approvedBy string
	for _, e := range h {
		if e.Event == "approve" {
			approvedBy = e.Actor
		}
	}
	if approvedBy != "alice" {
		t.Errorf("approval not in the audit log: %+v", h)
	}

	// Tampering with the log on the cluster is detected.
	cm, err := w.cl.Kube.CoreV1().ConfigMaps(w.ns).Get(ctx, canary.StateName(apex), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["log.jsonl"] = strings.Replace(cm.Data["log.jsonl"], `"actor":"alice"`, `"actor":"mallory"`, 1)
	if _, err := w.cl.Kube.CoreV1().ConfigMaps(w.ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.History(ctx, apex); !errors.Is(err, canary.ErrTampered) {
		t.Fatalf("tampered log verified: %v", err)
	}
	code, stdout, stderr := canaryCLI(t, w, "canary", "history", apex)
	if code != cli.ExitCheckFailed || !strings.Contains(stderr, "was modified") {
		t.Errorf("history of a tampered log: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestE2ESlowCanaryRolledBack(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0.001, LatencyMS: 450}, true)
	phase, _ := w.run(w.spec(time.Minute, ""))
	if phase != canary.PhaseRolledBack {
		t.Fatalf("phase %s, want RolledBack", phase)
	}
	h := w.history()
	last := h[len(h)-1]
	if !strings.Contains(last.Reason, "p99") {
		t.Errorf("rollback reason %q does not name the latency check", last.Reason)
	}
	if got := w.weights(); got["web-v2"] != 0 {
		t.Errorf("weights %v", got)
	}
}

func TestE2ENoDataHeld(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0, LatencyMS: 20}, true)
	// The canary's proxies export nothing under the name the spec uses.
	c := w.spec(10*time.Second, "")
	c.Spec.Canary.Deployment = "web-v2-unmeshed"
	w.deployment("web-v2-unmeshed", true)
	phase, _ := w.run(c)
	if phase != canary.PhaseDeadlineExceeded {
		t.Fatalf("phase %s, want DeadlineExceeded", phase)
	}
	h := w.history()
	if max := checkSteps(t, h, c.Steps()); max > 10 {
		t.Errorf("no-data canary reached %d%%", max)
	}
	noData := 0
	for _, e := range h {
		if e.Verdict == canary.VerdictNoData {
			noData++
		}
		if e.Verdict == canary.VerdictBad {
			t.Errorf("no data judged bad: %+v", e)
		}
	}
	if noData == 0 {
		t.Error("no no-data verdict in the log")
	}
	if got := w.weights(); got["web-v2"] != 0 {
		t.Errorf("weights %v", got)
	}
}

func TestE2EPrometheusStoppedHeld(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0, LatencyMS: 20}, true)
	c := w.spec(20*time.Second, "")
	ctx := context.Background()
	go func() {
		// Stop Prometheus once the first step is on.
		store := canary.NewStore(w.cl.Kube, w.ns)
		for i := 0; i < 200; i++ {
			if rec, err := store.Get(ctx, apex); err == nil && rec.State.Step >= 0 {
				_ = w.stop()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	phase, _ := w.run(c)
	if phase != canary.PhaseDeadlineExceeded {
		t.Fatalf("phase %s, want DeadlineExceeded", phase)
	}
	down := 0
	for _, e := range w.history() {
		if e.Verdict == canary.VerdictBackendDown {
			down++
		}
		if e.Event == "promote" {
			t.Errorf("promoted with Prometheus down: %+v", e)
		}
	}
	if down == 0 {
		t.Error("no backend-down verdict in the log")
	}
	if got := w.weights(); got["web-v2"] != 0 {
		t.Errorf("weights %v", got)
	}
}

// TestE2EKilledAndResumed runs `trafficctl canary run` in a child process, kills it with SIGKILL
// at arbitrary moments and starts it again until the rollout ends; the audit log must show
// every step once, each after a passing analysis.
func TestE2EKilledAndResumed(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0.001, LatencyMS: 20}, true)
	file := w.specFile(3*time.Minute, "  gates: [50]\n")
	kills := 0
	approved := false
	store := canary.NewStore(w.cl.Kube, w.ns)
	ctx := context.Background()
	for round := 0; round < 40; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCanaryRun$")
		cmd.Env = append(os.Environ(), "TRAFFICCTL_CANARY_HELPER=1", "HELPER_KUBECONFIG="+w.env.Kubeconfig, "HELPER_SPEC="+file, "HELPER_NS="+w.ns)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Kill at varying moments: 0.3 s to 2.4 s into the run.
		wait := time.Duration(300+(round*700)%2100) * time.Millisecond
		select {
		case err := <-exited:
			t.Logf("round %d: exited (%v):\n%s", round, err, out.String())
			if err != nil {
				t.Fatalf("helper failed: %v", err)
			}
			h := w.history()
			checkSteps(t, h, []int{10, 50, 100})
			rec, _ := store.Get(ctx, apex)
			if rec.State.Phase != canary.PhasePromoted {
				t.Fatalf("ended %s", rec.State.Phase)
			}
			if got := w.weights(); got["web-v2"] != 100 {
				t.Fatalf("weights %v", got)
			}
			resumes := 0
			for _, e := range h {
				if e.Event == "resume" {
					resumes++
				}
			}
			t.Logf("promoted after %d kills, %d resumes, %d log entries", kills, resumes, len(h))
			if kills < 3 || resumes < 3 {
				t.Errorf("only %d kills / %d resumes: the test did not exercise crashes", kills, resumes)
			}
			return
		case <-time.After(wait):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			kills++
		}
		// Approve the gate between processes: the approval must survive.
		if rec, err := store.Get(ctx, apex); err == nil && rec.State.Phase == canary.PhaseAwaitingApproval && !approved {
			if _, err := (&canary.Control{Store: store, Actor: "bob"}).Promote(ctx, apex); err != nil {
				t.Fatal(err)
			}
			approved = true
		}
		// Let the engine make progress between kills now and then.
		if round%3 == 2 {
			time.Sleep(2 * time.Second)
		}
	}
	t.Fatal("rollout did not finish in 40 rounds")
}

// TestHelperCanaryRun is the child process of TestE2EKilledAndResumed.
func TestHelperCanaryRun(t *testing.T) {
	if os.Getenv("TRAFFICCTL_CANARY_HELPER") != "1" {
		t.Skip("helper process")
	}
	code, out, errOut := runCLI(t, "canary", "run", os.Getenv("HELPER_SPEC"), "--kubeconfig", os.Getenv("HELPER_KUBECONFIG"), "-n", os.Getenv("HELPER_NS"))
	fmt.Print(out, errOut)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// canaryCLI runs trafficctl against w's cluster and namespace.
func canaryCLI(t *testing.T, w *world, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append(args, "--kubeconfig", w.env.Kubeconfig, "-n", w.ns)...)
}

func TestE2EBadInputChangesNothing(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0, LatencyMS: 20}, true)
	nothingChanged := func(t *testing.T) {
		t.Helper()
		if _, err := w.router.Get(context.Background(), w.ns, apex); !errors.Is(err, split.ErrNotFound) {
			t.Errorf("split exists after a refused run: %v", err)
		}
		_, err := w.cl.Kube.CoreV1().ConfigMaps(w.ns).Get(context.Background(), canary.StateName(apex), metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("rollout state exists after a refused run: %v", err)
		}
	}
	tests := []struct {
		name     string
		extra    string
		edit     func(string) string
		wantCode int
		wantErr  string
	}{
		{name: "unknown canary service", edit: func(s string) string { return strings.Replace(s, "service: web-v2", "service: web-v3", 1) },
			wantCode: cli.ExitUsage, wantErr: "Service " + "%s/web-v3 not found"},
		{name: "unknown deployment", edit: func(s string) string { return strings.Replace(s, "deployment: web-v2", "deployment: web-v9", 1) },
			wantCode: cli.ExitUsage, wantErr: "Deployment %s/web-v9 not found"},
		{name: "steps not ending at 100", edit: func(s string) string { return strings.Replace(s, "steps: [10, 50, 100]", "steps: [10, 50]", 1) },
			wantCode: cli.ExitUsage, wantErr: "spec.steps: must end at 100"},
		{name: "unreachable prometheus", edit: func(s string) string { return strings.Replace(s, w.prom, "http://127.0.0.1:1", 1) },
			wantCode: cli.ExitError, wantErr: "metrics backend down"},
		{name: "bad custom query", extra: "  - {name: broken, type: custom, query: 'sum(rate(x[', max: 1}\n",
			wantCode: cli.ExitUsage, wantErr: "bad query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := w.specFile(time.Minute, tt.extra)
			if tt.edit != nil {
				b, _ := os.ReadFile(file)
				if err := os.WriteFile(file, []byte(tt.edit(string(b))), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, _, stderr := canaryCLI(t, w, "canary", "run", file)
			want := tt.wantErr
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, w.ns)
			}
			if code != tt.wantCode || !strings.Contains(stderr, want) || strings.Count(stderr, "\nerror:") != 0 || !strings.HasPrefix(stderr, "error:") {
				t.Fatalf("exit %d, stderr %q; want exit %d containing %q", code, stderr, tt.wantCode, want)
			}
			nothingChanged(t)
		})
	}

	t.Run("two canaries on one apex", func(t *testing.T) {
		c := w.spec(time.Minute, "")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = w.engine(nil).Run(ctx, c, w.ns)
		}()
		defer func() { cancel(); <-done }()
		store := canary.NewStore(w.cl.Kube, w.ns)
		for i := 0; ; i++ {
			if _, err := store.Get(ctx, apex); err == nil {
				break
			}
			if i > 100 {
				t.Fatal("first canary never started")
			}
			time.Sleep(100 * time.Millisecond)
		}
		before, _ := store.Get(ctx, apex)
		other := w.specFile(time.Minute, "")
		b, _ := os.ReadFile(other)
		_ = os.WriteFile(other, []byte(strings.Replace(string(b), "name: web\n", "name: web-other\n", 1)), 0o600)
		code, _, stderr := canaryCLI(t, w, "canary", "run", other)
		if code != cli.ExitUsage || !strings.Contains(stderr, `another canary is in progress on this apex: canary "web"`) {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		after, _ := store.Get(ctx, apex)
		if after.State.Name != "web" || after.State.Started != before.State.Started {
			t.Errorf("the running canary's state changed: %+v", after.State)
		}
	})
}

// TestE2EQueriesReturnData checks every built-in query and the example spec's custom query
// against the real Prometheus on the stand-in's metrics.
func TestE2EQueriesReturnData(t *testing.T) {
	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0.01, LatencyMS: 120}, true)
	ctx := context.Background()
	if _, err := w.router.SetWeights(ctx, w.ns, apex, []split.Backend{{Service: "web-v1", Weight: 50}, {Service: "web-v2", Weight: 50}}, split.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	example, err := canary.ParseFile("../../pkg/canary/testdata/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prom, err := metrics.NewPrometheus(w.prom)
	if err != nil {
		t.Fatal(err)
	}
	tg := metrics.Target{Namespace: w.ns, Deployment: "web-v2"}
	queries := map[string]string{
		"requests": metrics.RequestsQuery(tg),
		"failures": metrics.FailuresQuery(tg),
		"p99":      metrics.LatencyQuery(tg, 0.99, 5*time.Second),
	}
	for _, m := range example.Spec.Metrics {
		if m.Type == canary.MetricCustom {
			queries[m.Name] = metrics.Expand(m.Query, tg, 5*time.Second)
		}
	}
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for name, q := range queries {
		for {
			v, err := prom.Query(ctx, q, time.Time{})
			if err == nil && v > 0 {
				t.Logf("%s = %g (after %s)", name, v, time.Since(start).Round(time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q returned %v, %v", name, q, v, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	// Stable without failures still gives 0 failures, not "no data".
	w.dp.Set("web-v1", metricsim.Behaviour{LatencyMS: 20})
	if _, err := prom.Query(ctx, metrics.FailuresQuery(metrics.Target{Namespace: w.ns, Deployment: "web-v1"}), time.Time{}); err != nil {
		t.Errorf("failures of the stable version: %v", err)
	}
}
