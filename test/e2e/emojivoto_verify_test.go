package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// TestEmojivotoPassesVerify applies deploy/emojivoto/base for real to the test API server,
// creates the pods its Deployments would run (the test server has no controllers), injected as
// Linkerd's injector would, and runs `trafficctl verify`: the shipped app must pass its own
// check. The same pods without proxies must fail it.
func TestEmojivotoPassesVerify(t *testing.T) {
	env := testenv.Require(t)
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "../../deploy/emojivoto/base")
	if err != nil {
		t.Fatal(err)
	}
	y, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := localk8s.DecodeObjects(bytes.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := env.Clients(t, "")
	for _, o := range objs {
		if _, err := c.Apply(ctx, o, kube.ApplyOptions{DryRun: kube.DryRunNone}); err != nil {
			t.Fatal(err)
		}
	}
	pods := 0
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < int(*d.Spec.Replicas); i++ {
			createPod(ctx, t, c, d, i, true)
			pods++
		}
	}
	code, out, errOut := runCLI(t, "verify", "--kubeconfig", env.Kubeconfig, "-n", "emojivoto")
	want := fmt.Sprintf("namespace emojivoto: %d pods, 7 Services, 1 routes", pods)
	if code != cli.ExitOK || !strings.Contains(out, want) {
		t.Fatalf("verify emojivoto: exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
	}
	t.Logf("trafficctl verify -n emojivoto:\n%s", out)

	// One replica of web-v2 started before injection was enabled: verify names it.
	var web appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GetName() == "web-v2" {
			_ = runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &web)
		}
	}
	createPod(ctx, t, c, web, 9, false)
	code, out, _ = runCLI(t, "verify", "--kubeconfig", env.Kubeconfig, "-n", "emojivoto")
	if code != cli.ExitCheckFailed || !strings.HasPrefix(out, "unmeshed: Pod/web-v2-9: ") {
		t.Errorf("verify with an unmeshed pod: exit %d, want 3 and an unmeshed finding\n%s", code, out)
	}
}

// createPod creates the pod a Deployment's ReplicaSet would, with the linkerd-proxy native
// sidecar the injector adds when inject is true.
func createPod(ctx context.Context, t *testing.T, c *kube.Clients, d appsv1.Deployment, i int, inject bool) {
	t.Helper()
	spec := *d.Spec.Template.Spec.DeepCopy()
	if inject {
		always := corev1.ContainerRestartPolicyAlways
		spec.InitContainers = append([]corev1.Container{{
			Name: "linkerd-proxy", Image: "cr.l5d.io/linkerd/proxy:edge-26.8.1", RestartPolicy: &always,
			Ports: []corev1.ContainerPort{{Name: "linkerd-admin", ContainerPort: 4191}},
		}}, spec.InitContainers...)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", d.Name, i), Namespace: "emojivoto", Labels: d.Spec.Template.Labels},
		Spec:       spec,
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{Object: u}
	obj.SetAPIVersion("v1")
	obj.SetKind("Pod")
	unstructured.RemoveNestedField(obj.Object, "status")
	unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
	if _, err := c.Apply(ctx, obj, kube.ApplyOptions{DryRun: kube.DryRunNone}); err != nil {
		t.Fatal(err)
	}
}
