package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/internal/testing/metricsim"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/canary"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

const controllerSA = "system:serviceaccount:trafficctl:trafficctl"

func readManifests(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "deploy", "trafficctl", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var out []*unstructured.Unstructured
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(u.Object) > 0 {
			out = append(out, &u)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the controller's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestE2EDeployManifestsAndRBAC applies deploy/trafficctl to the real API server (the Deployment
// with a server-side dry run) and runs `trafficctl canary controller` as the ServiceAccount, with
// leader election, through a whole rollout: if the RBAC missed a call the engine makes, the
// rollout could not be promoted.
func TestE2EDeployManifestsAndRBAC(t *testing.T) {
	env := testenv.Require(t)
	admin := env.Clients(t, "")
	ctx := context.Background()
	controller := readManifests(t, "controller.yaml")
	rbac := readManifests(t, "rbac.yaml")
	// The namespace first, for real: namespaced objects cannot be dry-run without it.
	if _, err := admin.Apply(ctx, controller[0], kube.ApplyOptions{}); err != nil {
		t.Fatalf("apply %s: %v", kube.Describe(controller[0]), err)
	}
	for _, u := range append(append([]*unstructured.Unstructured{}, controller[1:]...), rbac...) {
		if _, err := admin.Apply(ctx, u, kube.ApplyOptions{DryRun: kube.DryRunServer}); err != nil {
			t.Fatalf("server-side dry run of %s: %v", kube.Describe(u), err)
		}
	}
	for _, u := range rbac {
		if _, err := admin.Apply(ctx, u, kube.ApplyOptions{}); err != nil {
			t.Fatalf("apply %s: %v", kube.Describe(u), err)
		}
	}

	w := newWorld(t, metricsim.Behaviour{ErrorRate: 0.001, LatencyMS: 20}, true)
	spec, err := os.ReadFile(w.specFile(2*time.Minute, ""))
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-canary", Labels: map[string]string{kube.LabelCanarySpec: "true"}},
		Data: map[string]string{canary.SpecKey: string(spec)}}
	if _, err := w.cl.Kube.CoreV1().ConfigMaps(w.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	var out syncBuffer
	done := make(chan int)
	go func() {
		done <- runCLIStreams(runCtx, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out},
			"canary", "controller", "-A", "--resync", "1s", "--lease-namespace", "trafficctl",
			"--kubeconfig", env.Kubeconfig, "--as", controllerSA)
	}()
	store := canary.NewStore(w.cl.Kube, w.ns)
	deadline := time.Now().Add(90 * time.Second)
	for {
		rec, err := store.Get(ctx, apex)
		if err == nil && rec.State.Phase.Terminal() {
			if rec.State.Phase != canary.PhasePromoted {
				t.Fatalf("controller ended the rollout %s: %s\n%s", rec.State.Phase, rec.State.Message, out.String())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not promoted in time (state %+v, err %v):\n%s", rec, err, out.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("controller exit %d", code)
	}
	t.Logf("controller output:\n%s", out.String())
	if strings.Contains(out.String(), "forbidden") {
		t.Errorf("the ServiceAccount was refused a call:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "leading (lease trafficctl/") {
		t.Error("the controller never became leader")
	}
	h := w.history()
	if !strings.HasPrefix(h[0].Actor, controllerSA+" via trafficctl canary controller") {
		t.Errorf("audit actor %q: the SelfSubjectReview was not allowed", h[0].Actor)
	}
	evs, err := w.cl.Kube.CoreV1().Events(w.ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + canary.StateName(apex)})
	if err != nil || len(evs.Items) == 0 {
		t.Errorf("no Events recorded by the ServiceAccount: %v", err)
	}
}
