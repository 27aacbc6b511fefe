package sandbox

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// createObjects registers the demo app in the API server as deploy/emojivoto does: the
// namespace, the Services (web-svc is the apex, web-v1 and web-v2 its versions) and the
// Deployments, marked available as a controller would (the sandbox runs no controllers: the
// processes are the real workloads, the objects are what trafficctl reads and validates).
func createObjects(ctx context.Context, c *kube.Clients, replicas int) error {
	create := metav1.CreateOptions{FieldManager: kube.FieldManager, FieldValidation: "Strict"}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace, Annotations: map[string]string{"linkerd.io/inject": "enabled"}}}
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, ns, create); err != nil {
		return fmt.Errorf("create namespace %s: %w", Namespace, err)
	}
	services := []struct {
		name     string
		selector map[string]string
		port     int32
		portName string
	}{
		{Apex, map[string]string{"app": "web", "version": "v1"}, 80, "http"},
		{"web-v1", map[string]string{"app": "web", "version": "v1"}, 80, "http"},
		{"web-v2", map[string]string{"app": "web", "version": "v2"}, 80, "http"},
		{"emoji-svc", map[string]string{"app": "emoji-svc"}, 8080, "grpc"},
		{"voting-svc", map[string]string{"app": "voting-svc"}, 8080, "grpc"},
	}
	for _, s := range services {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: s.name, Labels: map[string]string{"app": s.selector["app"]}},
			Spec: corev1.ServiceSpec{Selector: s.selector, Ports: []corev1.ServicePort{{Name: s.portName, Port: s.port,
				TargetPort: intstr.FromString(s.portName), Protocol: corev1.ProtocolTCP}}}}
		if _, err := c.Kube.CoreV1().Services(Namespace).Create(ctx, svc, create); err != nil {
			return fmt.Errorf("create Service %s/%s: %w", Namespace, s.name, err)
		}
	}
	deployments := []struct {
		name     string
		labels   map[string]string
		replicas int32
		port     string
		image    string
	}{
		{"web-v1", map[string]string{"app": "web", "version": "v1"}, int32(replicas), "http", "ghcr.io/buoyantio/emojivoto-web:v11"},
		{"web-v2", map[string]string{"app": "web", "version": "v2"}, int32(replicas), "http", "ghcr.io/buoyantio/emojivoto-web:v11"},
		{"emoji", map[string]string{"app": "emoji-svc"}, 1, "grpc", "ghcr.io/buoyantio/emojivoto-emoji-svc:v11"},
		{"voting", map[string]string{"app": "voting-svc"}, 1, "grpc", "ghcr.io/buoyantio/emojivoto-voting-svc:v11"},
	}
	for _, d := range deployments {
		n := d.replicas
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: d.name, Labels: d.labels},
			Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: d.labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: d.labels, Annotations: map[string]string{"linkerd.io/inject": "enabled"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: d.name, Image: d.image,
						Ports: []corev1.ContainerPort{{Name: d.port, ContainerPort: 8080}}}}}}}}
		created, err := c.Kube.AppsV1().Deployments(Namespace).Create(ctx, dep, create)
		if err != nil {
			return fmt.Errorf("create Deployment %s/%s: %w", Namespace, d.name, err)
		}
		now := metav1.Now()
		created.Status = appsv1.DeploymentStatus{ObservedGeneration: created.Generation, Replicas: n, ReadyReplicas: n,
			AvailableReplicas: n, UpdatedReplicas: n, Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable,
				Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "sandbox processes", LastUpdateTime: now, LastTransitionTime: now}}}
		if _, err := c.Kube.AppsV1().Deployments(Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: kube.FieldManager}); err != nil {
			return fmt.Errorf("mark Deployment %s/%s available: %w", Namespace, d.name, err)
		}
	}
	return nil
}
