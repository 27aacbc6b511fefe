package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// doctorCluster is a fresh API server of its own, so each case carries its own Gateway API bundle.
type doctorCluster struct {
	c          *kube.Clients
	kubeconfig string
}

// startDoctorCluster starts an API server with a Linkerd control plane whose version is in its
// linkerd-config ConfigMap (configVersion) or its destination deployment's label (labelVersion).
func startDoctorCluster(t *testing.T, configVersion, labelVersion string) (*doctorCluster, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	testenv.Require(t) // skips under -short, and fails in CI when the binaries are missing
	bins, err := localk8s.CachedBinaries()
	if err != nil {
		testenv.Missing(t, "API server binaries: %v", err)
	}
	cl, err := localk8s.Start(ctx, localk8s.Options{Dir: t.TempDir(), Binaries: bins, Lifetime: localk8s.DieWithParent})
	if err != nil {
		t.Fatalf("start API server: %v", err)
	}
	t.Cleanup(func() { _ = cl.Stop() })
	c, err := kube.NewClientsForConfig(cl.Config, "default", false, localk8s.ContextName)
	if err != nil {
		t.Fatal(err)
	}
	d := &doctorCluster{c: c, kubeconfig: cl.Kubeconfig}
	d.linkerd(ctx, t, configVersion, labelVersion)
	return d, ctx
}

// applyAs server-side applies obj with the given field manager (kubectl, helm, a controller).
func (d *doctorCluster) applyAs(ctx context.Context, t *testing.T, obj *unstructured.Unstructured, manager string) {
	t.Helper()
	ri, err := d.c.ResourceInterface(obj)
	if err != nil {
		t.Fatal(err)
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	force := true
	if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: manager, Force: &force}); err != nil {
		t.Fatalf("apply %s as %s: %v", kube.Describe(obj), manager, err)
	}
}

// installCRDs applies every CRD of path as manager, with extra labels and annotations, and
// waits until the API server serves them.
func (d *doctorCluster) installCRDs(ctx context.Context, t *testing.T, path, manager string, labels, ann map[string]string) {
	t.Helper()
	var objs []*unstructured.Unstructured
	paths := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		paths, _ = filepath.Glob(filepath.Join(path, "*.yaml"))
	}
	for _, p := range paths {
		o, err := localk8s.ReadObjects(p)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o...)
	}
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		o.SetLabels(merged(o.GetLabels(), labels))
		o.SetAnnotations(merged(o.GetAnnotations(), ann))
		d.applyAs(ctx, t, o, manager)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, o := range objs {
		for o.GetKind() == "CustomResourceDefinition" {
			crd, err := d.c.Dynamic.Resource(crdResource).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err == nil {
				conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
				if strings.Contains(fmt.Sprint(conds), "type:Established") {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s not established: %v", o.GetName(), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	d.c.Mapper.Reset()
}

func merged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// apply applies a YAML document with trafficctl's field manager.
func (d *doctorCluster) apply(ctx context.Context, t *testing.T, doc string) {
	t.Helper()
	applyYAML(ctx, t, d.c, doc)
}

func (d *doctorCluster) linkerd(ctx context.Context, t *testing.T, configVersion, labelVersion string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "linkerd"}}
	if _, err := d.c.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if configVersion != "" {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "linkerd-config", Namespace: "linkerd"},
			Data: map[string]string{"values": "linkerdVersion: " + configVersion + "\n"}}
		if _, err := d.c.Kube.CoreV1().ConfigMaps("linkerd").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if labelVersion != "" {
		labels := map[string]string{"app": "destination"}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "linkerd-destination", Namespace: "linkerd", Labels: map[string]string{"linkerd.io/control-plane-version": labelVersion}},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "destination", Image: "cr.l5d.io/linkerd/controller:" + labelVersion}}},
			}},
		}
		if _, err := d.c.Kube.AppsV1().Deployments("linkerd").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func (d *doctorCluster) doctor(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"doctor", "--kubeconfig", d.kubeconfig}, args...)...)
	return code, out + errOut
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// gatewayAPIModuleCRDs is sigs.k8s.io/gateway-api v1.4.1's CRD directory of a channel.
func gatewayAPIModuleCRDs(t *testing.T, channel string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		testenv.Missing(t, "gateway-api module dir: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", channel)
}

// TestDoctorLinkerdChartOwnsGatewayAPI: Linkerd 2.19 (edge, from linkerd-config) with the Gateway
// API CRDs still owned by Linkerd's CRD chart: the next CRD upgrade deletes them.
func TestDoctorLinkerdChartOwnsGatewayAPI(t *testing.T) {
	d, ctx := startDoctorCluster(t, "edge-25.10.1", "")
	d.installCRDs(ctx, t, filepath.Join(testenv.Require(t).CRDs, "gateway-api-crds.yaml"), "helm",
		map[string]string{"app.kubernetes.io/managed-by": "Helm"},
		map[string]string{"meta.helm.sh/release-name": "linkerd-crds", "meta.helm.sh/release-namespace": "linkerd"})
	code, out := d.doctor(t)
	wantAll(t, out,
		"Linkerd:     edge-25.10.1 (namespace linkerd)",
		"Gateway API: v1.1.1, experimental channel, owner linkerd-chart",
		"error gateway-api-owner: Linkerd's CRD chart owns the Gateway API CRDs, but Linkerd 2.19 no longer installs them",
		"fix: kubectl annotate crd ")
	wantExit(t, code, cli.ExitCheckFailed, out)
}

// TestDoctorBundleTooNew: Linkerd 2.18 (from its deployment's label) with Gateway API v1.4.1
// installed by hand with kubectl.
func TestDoctorBundleTooNew(t *testing.T) {
	d, ctx := startDoctorCluster(t, "", "stable-2.18.2")
	d.installCRDs(ctx, t, gatewayAPIModuleCRDs(t, "standard"), "kubectl", nil, nil)
	code, out := d.doctor(t, "-o", "json")
	wantAll(t, out, `"bundleVersion": "v1.4.1"`, `"channel": "standard"`, `"owner": "manual"`, `"release": "2.18"`,
		"Gateway API v1.4.1 is newer than Linkerd 2.18 supports (1.2.1)", "v1.2.1/standard-install.yaml")
	wantExit(t, code, cli.ExitCheckFailed, out)
}

// TestDoctorControllerAndLeftovers: Linkerd 2.20 with Gateway API v1.4.1 experimental managed by
// another controller is only warned about; then a ServiceProfile shadowing an HTTPRoute and a
// Flagger Canary and an Argo Rollout steering one Service are errors.
func TestDoctorControllerAndLeftovers(t *testing.T) {
	env := testenv.Require(t)
	d, ctx := startDoctorCluster(t, "edge-26.6.2", "")
	d.installCRDs(ctx, t, gatewayAPIModuleCRDs(t, "experimental"), "envoy-gateway", nil, nil)
	for _, f := range []string{"linkerd-crds.yaml", "smi-trafficsplit-crd.yaml"} {
		d.installCRDs(ctx, t, filepath.Join(env.CRDs, f), "kubectl", nil, nil)
	}
	canaries := filepath.Join(t.TempDir(), "canary-crds.yaml")
	if err := os.WriteFile(canaries, []byte(canaryCRDs), 0o600); err != nil {
		t.Fatal(err)
	}
	d.installCRDs(ctx, t, canaries, "kubectl", nil, nil)
	code, out := d.doctor(t)
	if code != cli.ExitOK || !strings.Contains(out, "warning gateway-api-owner: controller:envoy-gateway manages the Gateway API CRDs") ||
		!strings.Contains(out, "warning linkerd-smi") || !strings.Contains(out, "info gateway-api-version: Gateway API v1.4.1: Linkerd ignores fields newer than 1.2.1") {
		t.Fatalf("doctor before leftovers: exit %d\n%s", code, out)
	}
	for _, doc := range doctorLeftovers {
		d.apply(ctx, t, doc)
	}
	code, out = d.doctor(t)
	wantAll(t, out,
		"error profile-overrides-route: ServiceProfile default/web-svc.default.svc.cluster.local: overrides HTTPRoute/web-svc attached to Service default/web-svc",
		"fix: trafficctl migrate -n default --service web-svc --apply",
		"error steered-twice: Service default/web-svc: 3 controllers set its traffic weights")
	wantExit(t, code, cli.ExitCheckFailed, out)
}

// wantExit fails the test unless doctor exited with want, and logs its output.
func wantExit(t *testing.T, code, want int, out string) {
	t.Helper()
	if code != want {
		t.Errorf("exit %d, want %d", code, want)
	}
	t.Logf("trafficctl doctor:\n%s", out)
}

// wantAll fails the test for each of wants that out lacks.
func wantAll(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("doctor output lacks %q:\n%s", w, out)
		}
	}
}

// canaryCRDs are minimal stand-ins for Flagger's and Argo Rollouts' CRDs (schema-less).
const canaryCRDs = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: canaries.flagger.app}
spec:
  group: flagger.app
  names: {kind: Canary, plural: canaries, singular: canary, listKind: CanaryList}
  scope: Namespaced
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: rollouts.argoproj.io}
spec:
  group: argoproj.io
  names: {kind: Rollout, plural: rollouts, singular: rollout, listKind: RolloutList}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

var doctorLeftovers = []string{
	`{apiVersion: linkerd.io/v1alpha2, kind: ServiceProfile, metadata: {name: web-svc.default.svc.cluster.local, namespace: default},
  spec: {routes: [{name: leaderboard, condition: {pathRegex: /api/leaderboard}, timeout: 1s}]}}`,
	`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-svc, namespace: default}
spec:
  parentRefs: [{group: core, kind: Service, name: web-svc}]
  rules:
  - backendRefs: [{name: web-v1, port: 8080, weight: 90}, {name: web-v2, port: 8080, weight: 10}]`,
	`apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: web, namespace: default}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  service: {name: web-svc, port: 8080}`,
	`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: default}
spec:
  strategy:
    canary: {stableService: web-svc, canaryService: web-svc-canary}`,
}
