package node

import (
	"context"
	"fmt"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trafficctl/trafficctl/internal/ociimage"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

const (
	controllerNS       = "trafficctl"
	controllerSelector = "app.kubernetes.io/name=trafficctl,app.kubernetes.io/component=canary-controller"
	leaseName          = "trafficctl-canary-controller"
)

// deploy/trafficctl as shipped (RBAC, Deployment with 2 replicas), with the locally built image:
// both replicas become Ready, one holds the Lease, and when its pod is deleted the other one
// takes the Lease over. The pods reach the API server through the kubernetes Service
// (kube-proxy) with their ServiceAccount's token.
func TestControllerDeploymentElectsALeader(t *testing.T) {
	env := testenv.RequireNode(t)
	c := env.Clients(t, controllerNS)
	t.Cleanup(func() {
		if t.Failed() {
			logTail(t, c, controllerNS, controllerSelector)
		}
	})
	objs := append(manifests(t, "deploy", "trafficctl", "controller.yaml"), manifests(t, "deploy", "trafficctl", "rbac.yaml")...)
	for _, o := range objs {
		setImages(t, o, "/trafficctl", ociimage.TrafficctlImage(env.Node.Tag))
	}
	apply(t, c, objs)

	waitPods(t, c, controllerNS, controllerSelector, "2 Ready controller replicas", podLimit, func(p []corev1.Pod) bool {
		return countReady(p) == 2
	})
	leader := waitLeader(t, env, "")
	t.Logf("leader: %s", leader)

	if err := c.Kube.CoreV1().Pods(controllerNS).Delete(context.Background(), leader, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPods(t, c, controllerNS, controllerSelector, "the surviving replica", podLimit, func(p []corev1.Pod) bool {
		for _, x := range p {
			if x.Name != leader && podReady(x) {
				return true
			}
		}
		return false
	})
	// The standby usually takes over; the ReplicaSet's replacement pod may win the race instead.
	next := waitLeader(t, env, leader)
	t.Logf("new leader after deleting %s: %s", leader, next)
}

// waitLeader waits until the Lease is held by a controller pod, listed afresh on every poll,
// other than not, and returns that pod.
func waitLeader(t *testing.T, env *testenv.Env, not string) string {
	t.Helper()
	c := env.Clients(t, controllerNS)
	var holder string
	testenv.WaitFor(t, leaseLimit, "a replica other than "+not+" to hold the Lease", func(ctx context.Context) (bool, error) {
		l, err := c.Kube.CoordinationV1().Leases(controllerNS).Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pods, err := c.Kube.CoreV1().Pods(controllerNS).List(ctx, metav1.ListOptions{LabelSelector: controllerSelector})
		if err != nil {
			return false, err
		}
		holder = leaseHolder(l)
		for _, p := range pods.Items {
			// The identity is the pod's hostname (its name) plus a random suffix.
			if p.Name != not && strings.HasPrefix(holder, p.Name+"-") {
				holder = p.Name
				return true, nil
			}
		}
		return false, fmt.Errorf("held by %q", holder)
	})
	return holder
}

func leaseHolder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}
