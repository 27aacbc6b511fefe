package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/ociimage"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// manifestTag is the tag deploy/ manifests give the project's images (a release's version).
const manifestTag = "v0.1.0"

// retag points the project's images (ghcr.io/trafficctl/...:v0.1.0[-suffix]) at the tag the
// test's images have.
func retag(t *testing.T, obj *unstructured.Unstructured, tag string) {
	t.Helper()
	containers, found, err := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	if err != nil || !found {
		return
	}
	for i, c := range containers {
		m := c.(map[string]any)
		img, _ := m["image"].(string)
		if repo, old, ok := strings.Cut(img, ":"); ok && strings.HasPrefix(repo, ociimage.Registry+"/") && strings.HasPrefix(old, manifestTag) {
			m["image"] = repo + ":" + tag + strings.TrimPrefix(old, manifestTag)
			containers[i] = m
		}
	}
	if err := unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
}

func kustomizeBuild(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), root+"/"+dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	y, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := localk8s.DecodeObjects(bytes.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// deploy/emojivoto/base as shipped (policy, probes, non-root users), with the demo app images
// `make images` builds: every Deployment becomes Available, and vote-bot's votes reach voting
// through web, by Service names through cluster DNS and kube-proxy.
func TestEmojivotoBaseBecomesAvailable(t *testing.T) {
	env := testenv.RequireNode(t)
	const ns = "emojivoto"
	c := env.Clients(t, ns)
	t.Cleanup(func() {
		if t.Failed() {
			logTail(t, c, ns, "app=vote-bot")
			logTail(t, c, ns, "app=web")
		}
	})
	objs := kustomizeBuild(t, "deploy/emojivoto/base")
	var deployments []string
	for _, o := range objs {
		retag(t, o, env.Node.Tag)
		if o.GetKind() == "Deployment" {
			deployments = append(deployments, o.GetName())
		}
	}
	apply(t, c, objs)

	var list *appsv1.DeploymentList
	testenv.WaitFor(t, finishLimit, fmt.Sprintf("Deployments %v Available", deployments), func(ctx context.Context) (bool, error) {
		var err error
		list, err = c.Kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		available := 0
		for _, d := range list.Items {
			for _, cond := range d.Status.Conditions {
				if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue && d.Status.ReadyReplicas == *d.Spec.Replicas {
					available++
				}
			}
		}
		if available == len(deployments) {
			return true, nil
		}
		pods, _ := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return false, fmt.Errorf("%d of %d Available; pods: %s", available, len(deployments), testenv.PodSummary(pods.Items))
	})
	pods, err := c.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d Deployments Available, %d pods Ready", len(deployments), countReady(pods.Items))

	svc, err := c.Kube.CoreV1().Services(ns).Get(context.Background(), "web-svc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Every voting pod keeps its own tally and every web pod holds one gRPC connection to one of
	// them, so only the web pods wired to the voting pod vote-bot's votes reach show them: a new
	// connection per poll lets kube-proxy pick another web pod each time.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	testenv.WaitFor(t, finishLimit, "votes from vote-bot on web's leaderboard", func(ctx context.Context) (bool, error) {
		resp, err := client.Get(fmt.Sprintf("http://%s:%d/api/leaderboard", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port))
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		var board []struct {
			Votes int `json:"votes"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&board); err != nil {
			return false, fmt.Errorf("leaderboard: %s: %w", resp.Status, err)
		}
		for _, e := range board {
			if e.Votes > 0 {
				return true, nil
			}
		}
		return false, fmt.Errorf("no votes yet (%s)", resp.Status)
	})
}

// logTail logs the last lines of every pod matching selector, to show why a wait failed.
func logTail(t *testing.T, c *kube.Clients, ns, selector string) {
	t.Helper()
	ctx := context.Background()
	pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Logf("list pods %s: %v", selector, err)
		return
	}
	tail := int64(20)
	for _, p := range pods.Items {
		b, err := c.Kube.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		t.Logf("pod %s (%v):\n%s", p.Name, err, b)
	}
}
