package node

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/trafficctl/trafficctl/internal/ociimage"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

// The trafficctl image runs on the node as its non-root user and prints the version it was
// built with (the tag `make images` gives it).
func TestTrafficctlImageRuns(t *testing.T) {
	env := testenv.RequireNode(t)
	ns := env.NodeNamespace(t)
	c := env.Clients(t, ns)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "version", Labels: map[string]string{"test": "version"}},
		Spec: corev1.PodSpec{
			RestartPolicy:   corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			Containers: []corev1.Container{{
				Name: "trafficctl", Image: ociimage.TrafficctlImage(env.Node.Tag), ImagePullPolicy: corev1.PullNever,
				Args: []string{"version", "-o", "json"},
			}},
		},
	}
	if _, err := c.Kube.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, c, ns, "test=version", "the version pod to succeed", podLimit, func(p []corev1.Pod) bool {
		return len(p) == 1 && (p[0].Status.Phase == corev1.PodSucceeded || p[0].Status.Phase == corev1.PodFailed)
	})
	if pods[0].Status.Phase != corev1.PodSucceeded {
		t.Fatalf("version pod: %s", testenv.PodSummary(pods))
	}
	logs, err := c.Kube.CoreV1().Pods(ns).GetLogs("version", &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("read the pod's log through the API server and kubelet: %v", err)
	}
	if !strings.Contains(string(logs), `"version": "`+env.Node.Tag+`"`) && !strings.Contains(string(logs), `"version":"`+env.Node.Tag+`"`) {
		t.Fatalf("version pod log does not show version %s:\n%s", env.Node.Tag, logs)
	}
}
