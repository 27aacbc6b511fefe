package node

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Generous limits: a loaded 2-core machine can take a while to start containers.
const (
	podLimit    = 3 * time.Minute
	leaseLimit  = 3 * time.Minute
	finishLimit = 4 * time.Minute
)

// manifests reads a YAML file of the repository (path relative to its root).
func manifests(t *testing.T, path ...string) []*unstructured.Unstructured {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := localk8s.ReadObjects(filepath.Join(append([]string{root}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// setImages points every container of a workload at image when its current image's repository
// ends with repoSuffix (e.g. "/trafficctl").
func setImages(t *testing.T, obj *unstructured.Unstructured, repoSuffix, image string) {
	t.Helper()
	containers, found, err := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	if err != nil || !found {
		return
	}
	for i, c := range containers {
		m := c.(map[string]any)
		img, _ := m["image"].(string)
		repo := img
		if j := strings.LastIndex(img, ":"); j > strings.LastIndex(img, "/") {
			repo = img[:j]
		}
		if strings.HasSuffix(repo, repoSuffix) {
			m["image"] = image
			containers[i] = m
		}
	}
	if err := unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
}

// apply server-side applies objs: Namespaces first, then ServiceAccounts and RBAC, then the
// rest, so that no pod is created before its ServiceAccount.
func apply(t *testing.T, c *kube.Clients, objs []*unstructured.Unstructured) {
	t.Helper()
	rank := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "Namespace":
			return 0
		case "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret":
			return 1
		}
		return 2
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range objs {
		if _, err := c.Apply(ctx, o, kube.ApplyOptions{ForceConflicts: true}); err != nil {
			t.Fatalf("apply %s: %v", kube.Describe(o), err)
		}
	}
}

// waitPods waits until the pods matching selector in ns satisfy ok, and returns them.
func waitPods(t *testing.T, c *kube.Clients, ns, selector, what string, limit time.Duration, ok func([]corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	deadline := time.Now().Add(limit)
	for {
		list, err := c.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			pods = list.Items
			if ok(pods) {
				return pods
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; pods: %s", limit, what, testenv.PodSummary(pods))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func podReady(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func countReady(pods []corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if podReady(p) {
			n++
		}
	}
	return n
}

var listAll = metav1.ListOptions{}
