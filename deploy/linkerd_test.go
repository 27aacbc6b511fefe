package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// versions reads deploy/linkerd/versions.env (KEY=value lines, # comments).
func versions(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("linkerd/versions.env")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("versions.env: %q is not KEY=value", line)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func lookup(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// TestLinkerdVersionsOnePlace checks that every version pinned in a values file equals the one
// in versions.env, so an upgrade is one edit and nothing drifts.
func TestLinkerdVersionsOnePlace(t *testing.T) {
	v := versions(t)
	for _, tc := range []struct {
		file string
		path []string
		key  string
	}{
		{"linkerd/values/linkerd-control-plane.yaml", []string{"linkerdVersion"}, "LINKERD_VERSION"},
		{"linkerd/values/linkerd-viz.yaml", []string{"linkerdVersion"}, "LINKERD_VERSION"},
		{"linkerd/values/linkerd-smi.yaml", []string{"adaptor", "image", "tag"}, "LINKERD_SMI_VERSION"},
		{"linkerd/ingress/traefik-values.yaml", []string{"image", "tag"}, "TRAEFIK_VERSION"},
		{"linkerd/grafana/values.yaml", []string{"image", "tag"}, "GRAFANA_VERSION"},
	} {
		t.Run(filepath.Base(tc.file)+"/"+strings.Join(tc.path, "."), func(t *testing.T) {
			got := lookup(readValues(t, tc.file), tc.path...)
			if got != v[tc.key] || v[tc.key] == "" {
				t.Errorf("%s %s = %v, want %s=%q from versions.env", tc.file, strings.Join(tc.path, "."), got, tc.key, v[tc.key])
			}
		})
	}
}

// genCerts runs scripts/gen-certs.sh into a fresh directory.
func genCerts(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl not found: install it (apt-get install openssl)")
	}
	dir := t.TempDir()
	out, err := exec.Command("linkerd/scripts/gen-certs.sh", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	return dir
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// TestGenCerts checks what Linkerd's identity service needs from the roots: ECDSA P-256 keys,
// a self-signed trust anchor, an issuer that is a CA signed by it and may sign only leaves.
func TestGenCerts(t *testing.T) {
	dir := genCerts(t)
	ca := readCert(t, filepath.Join(dir, "ca.crt"))
	issuer := readCert(t, filepath.Join(dir, "issuer.crt"))
	for name, c := range map[string]*x509.Certificate{"trust anchor": ca, "issuer": issuer} {
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s key is %T, want ECDSA P-256", name, c.PublicKey)
		}
		if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
			t.Errorf("%s is not a CA allowed to sign certificates", name)
		}
	}
	if ca.Subject.CommonName != "root.linkerd.cluster.local" || issuer.Subject.CommonName != "identity.linkerd.cluster.local" {
		t.Errorf("CNs = %q, %q", ca.Subject.CommonName, issuer.Subject.CommonName)
	}
	if !issuer.MaxPathLenZero || issuer.MaxPathLen != 0 {
		t.Errorf("issuer path length = %d (zero=%v), want 0: it must sign only proxy certificates", issuer.MaxPathLen, issuer.MaxPathLenZero)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := issuer.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("issuer does not chain to the trust anchor: %v", err)
	}
	if d := time.Until(issuer.NotAfter); d < 360*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("issuer expires in %v, want about a year", d)
	}
	if out, err := exec.Command("linkerd/scripts/gen-certs.sh", dir).CombinedOutput(); err == nil {
		t.Errorf("second run overwrote the certificates:\n%s", out)
	}
}

// helmBinary finds the pinned helm: $TRAFFICCTL_HELM, else the one
// deploy/linkerd/scripts/install-helm.sh builds into the cache.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRAFFICCTL_HELM"); p != "" {
		return p
	}
	cache, err := os.UserCacheDir()
	if err == nil {
		p := filepath.Join(cache, "trafficctl", "bin", "helm-"+versions(t)["HELM_VERSION"])
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Missing(t, "helm %s not found: run deploy/linkerd/scripts/install-helm.sh or set TRAFFICCTL_HELM", versions(t)["HELM_VERSION"])
	return ""
}

// chartsDir finds the upstream charts: $TRAFFICCTL_CHARTS_DIR, else ../shared/charts beside
// the repository root.
func chartsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TRAFFICCTL_CHARTS_DIR")
	if dir == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "charts")
	}
	if _, err := os.Stat(filepath.Join(dir, "linkerd-control-plane-"+versions(t)["LINKERD_CHART_VERSION"]+".tgz")); err != nil {
		testenv.Missing(t, "upstream Linkerd charts not found in %s: set TRAFFICCTL_CHARTS_DIR", dir)
	}
	return dir
}

// release is one `helm template` of an upstream chart with our values.
type release struct {
	name, chart, namespace string
	args                   []string
	// objects is the least number of objects a correct render has, so a values typo that
	// silently disables half a chart fails.
	objects int
	// version is the chart version, from versions.env: the one install-linkerd.sh installs.
	version string
}

// releases lists the charts at the versions install-linkerd.sh installs (versions.env), so the
// render tested here is the release installed.
func releases(t *testing.T, certs string) []release {
	v := versions(t)
	linkerd, smi := v["LINKERD_CHART_VERSION"], v["LINKERD_SMI_CHART_VERSION"]
	certArgs := []string{
		"--set-file", "identityTrustAnchorsPEM=" + filepath.Join(certs, "ca.crt"),
		"--set-file", "identity.issuer.tls.crtPEM=" + filepath.Join(certs, "issuer.crt"),
		"--set-file", "identity.issuer.tls.keyPEM=" + filepath.Join(certs, "issuer.key"),
	}
	return []release{
		{"linkerd-crds", "linkerd-crds-" + linkerd + ".tgz", "linkerd", []string{"-f", "linkerd/values/linkerd-crds.yaml"}, 10, linkerd},
		{"linkerd-control-plane", "linkerd-control-plane-" + linkerd + ".tgz", "linkerd",
			append([]string{"-f", "linkerd/values/linkerd-control-plane.yaml"}, certArgs...), 40, linkerd},
		{"linkerd-control-plane-ha", "linkerd-control-plane-" + linkerd + ".tgz", "linkerd",
			append([]string{"-f", "linkerd/values/linkerd-control-plane.yaml", "-f", "linkerd/values/linkerd-control-plane-ha.yaml"}, certArgs...), 43, linkerd},
		{"linkerd-viz", "linkerd-viz-" + linkerd + ".tgz", "linkerd-viz", []string{"-f", "linkerd/values/linkerd-viz.yaml"}, 56, linkerd},
		{"linkerd-smi", "linkerd-smi-" + smi + ".tgz", "linkerd-smi", []string{"-f", "linkerd/values/linkerd-smi.yaml"}, 10, smi},
	}
}

func helmTemplate(t *testing.T, helm, charts string, r release) []*unstructured.Unstructured {
	t.Helper()
	name := strings.TrimSuffix(r.name, "-ha")
	args := append([]string{"template", name, filepath.Join(charts, r.chart), "-n", r.namespace, "--kube-version", "1.34.0"}, r.args...)
	cmd := exec.Command(helm, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	objs, err := localk8s.DecodeObjects(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("decode %s render: %v", r.name, err)
	}
	return objs
}

// images lists every container image in rendered objects.
func images(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		for _, path := range [][]string{{"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}} {
			spec, ok, _ := unstructured.NestedMap(o.Object, path...)
			if !ok {
				continue
			}
			for _, key := range []string{"initContainers", "containers"} {
				cs, _ := spec[key].([]any)
				for _, c := range cs {
					if img, ok := c.(map[string]any)["image"].(string); ok {
						out = append(out, img)
					}
				}
			}
		}
	}
	return out
}

// TestLinkerdRender renders every release with the upstream charts and our values, checks every
// image is pinned (no placeholder tag left by the source charts), and server-side dry-run
// applies the objects to the real API server together with our own static manifests.
func TestLinkerdRender(t *testing.T) {
	helm := helmBinary(t)
	charts := chartsDir(t)
	env := testenv.Require(t)
	installGatewayCRDs(t, env)
	certs := genCerts(t)
	for _, r := range releases(t, certs) {
		t.Run(r.name, func(t *testing.T) {
			objs := helmTemplate(t, helm, charts, r)
			if len(objs) < r.objects {
				t.Errorf("rendered %d objects, want at least %d", len(objs), r.objects)
			}
			// The chart rendered here must be the version install-linkerd.sh installs.
			for _, o := range objs {
				if c, ok := o.GetLabels()["helm.sh/chart"]; ok && !strings.HasSuffix(c, "-"+r.version) {
					t.Errorf("%s: rendered from chart %s, but versions.env installs %s", kube.Describe(o), c, r.version)
					break
				}
			}
			v := versions(t)
			for _, img := range images(objs) {
				if strings.Contains(img, "VersionValue") || !pinned(img) {
					t.Errorf("image %q is not pinned to a real tag: set it in values", img)
				}
				// Linkerd's own images must all be the one pinned release.
				for _, name := range []string{"/proxy:", "/controller:", "/policy-controller:", "/metrics-api:", "/tap:", "/web:"} {
					if strings.HasPrefix(img, "cr.l5d.io/linkerd") && strings.Contains(img, name) && !strings.HasSuffix(img, ":"+v["LINKERD_VERSION"]) {
						t.Errorf("image %q is not LINKERD_VERSION %s", img, v["LINKERD_VERSION"])
					}
				}
			}
			if strings.HasSuffix(r.name, "-ha") {
				checkHA(t, objs)
			}
			dryRunApply(t, env, withNamespace(objs, r.namespace, env, t))
		})
	}
	t.Run("static", func(t *testing.T) {
		var objs []*unstructured.Unstructured
		for _, f := range []string{"linkerd/ingress/gateway.yaml", "linkerd/egress/emojivoto-egress.yaml", "linkerd/grafana/authz.yaml"} {
			o, err := localk8s.ReadObjects(f)
			if err != nil {
				t.Fatal(err)
			}
			objs = append(objs, o...)
		}
		dryRunApply(t, env, objs)
	})
}

// checkHA requires what the HA overlay promises: three replicas of every control-plane
// Deployment, a PodDisruptionBudget for each, and a fail-closed injector webhook.
func checkHA(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	deployments, pdbs := 0, 0
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			deployments++
			if r, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); r != float64(3) {
				t.Errorf("Deployment %s: replicas %v, want 3", o.GetName(), r)
			}
		case "PodDisruptionBudget":
			pdbs++
		case "MutatingWebhookConfiguration":
			hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
			for _, h := range hooks {
				if p := h.(map[string]any)["failurePolicy"]; p != "Fail" {
					t.Errorf("webhook %s failurePolicy %v, want Fail", o.GetName(), p)
				}
			}
		}
	}
	if deployments == 0 || pdbs < deployments {
		t.Errorf("%d Deployments, %d PodDisruptionBudgets: want one budget per Deployment", deployments, pdbs)
	}
}

// TestIngressConsistent checks the pieces of the ingress agree: the Gateway listens on the
// Traefik entry point the values expose with TLS, the app's route attaches to that listener,
// overwrites l5d-dst-override (so clients cannot set it) with web-svc's in-cluster name, and
// the Traefik ServiceAccount is the ingress identity web authorizes.
func TestIngressConsistent(t *testing.T) {
	values := readValues(t, "linkerd/ingress/traefik-values.yaml")
	gw, err := localk8s.ReadObjects("linkerd/ingress/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	listeners, _, _ := unstructured.NestedSlice(gw[0].Object, "spec", "listeners")
	l := listeners[0].(map[string]any)
	if port := lookup(values, "ports", "websecure", "port"); l["port"] != port || l["protocol"] != "HTTPS" || lookup(values, "ports", "websecure", "tls", "enabled") != true {
		t.Errorf("listener %v does not match Traefik's TLS websecure entry point on port %v", l, port)
	}
	if lookup(values, "deployment", "podAnnotations", "linkerd.io/inject") != "ingress" {
		t.Errorf("Traefik is not meshed in Linkerd's ingress mode")
	}
	// The cluster default admits only meshed clients; the edge must admit the internet.
	if lookup(values, "deployment", "podAnnotations", "config.linkerd.io/default-inbound-policy") != "all-unauthenticated" {
		t.Errorf("Traefik's pods would refuse unmeshed (external) clients under the cluster's default inbound policy")
	}
	var route *unstructured.Unstructured
	for _, o := range kustomizeBuild(t, "emojivoto/base") {
		if o.GetKind() == "HTTPRoute" && o.GetName() == "web-ingress" {
			route = o
		}
	}
	if route == nil {
		t.Fatal("emojivoto/base has no web-ingress HTTPRoute")
	}
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	p := parents[0].(map[string]any)
	if p["name"] != gw[0].GetName() || p["namespace"] != gw[0].GetNamespace() || p["sectionName"] != l["name"] {
		t.Errorf("route parent %v is not the Gateway's listener %s/%s %s", p, gw[0].GetNamespace(), gw[0].GetName(), l["name"])
	}
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for i, r := range rules {
		var set bool
		filters, _ := r.(map[string]any)["filters"].([]any)
		for _, f := range filters {
			hs, _, _ := unstructured.NestedSlice(f.(map[string]any), "requestHeaderModifier", "set")
			for _, h := range hs {
				hm := h.(map[string]any)
				set = set || (hm["name"] == "l5d-dst-override" && hm["value"] == "web-svc.emojivoto.svc.cluster.local:80")
			}
		}
		if !set {
			t.Errorf("ingress route rule %d does not overwrite l5d-dst-override with web-svc's in-cluster name", i)
		}
	}
}

// withNamespace gives namespaced objects that name no namespace the release's, as helm install
// would.
func withNamespace(objs []*unstructured.Unstructured, ns string, env *testenv.Env, t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	c := env.Clients(t, ns)
	for _, o := range objs {
		if o.GetNamespace() != "" {
			continue
		}
		m, err := c.ResourceFor(o.GroupVersionKind())
		if err != nil {
			t.Fatalf("%s: %v", kube.Describe(o), err)
		}
		if m.Scope.Name() == "namespace" {
			o.SetNamespace(ns)
		}
	}
	return objs
}

var gatewayGVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}

// installGatewayCRDs adds the Gateway and GatewayClass CRDs (from the sigs.k8s.io/gateway-api
// module in go.mod) to the test API server: the ingress's Gateway needs them, and the upstream
// bundle the test environment installs carries only the route kinds.
func installGatewayCRDs(t *testing.T, env *testenv.Env) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-json", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("locate sigs.k8s.io/gateway-api: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("locate sigs.k8s.io/gateway-api: %v (run go mod download)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := env.Clients(t, "")
	for _, f := range []string{"gateway.networking.k8s.io_gatewayclasses.yaml", "gateway.networking.k8s.io_gateways.yaml"} {
		objs, err := localk8s.ReadObjects(filepath.Join(mod.Dir, "config", "crd", "standard", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if _, err := c.Apply(ctx, o, kube.ApplyOptions{DryRun: kube.DryRunNone, ForceConflicts: true}); err != nil {
				t.Fatalf("install %s: %v", f, err)
			}
		}
	}
	// Wait until the API server serves the new kinds.
	for deadline := time.Now().Add(30 * time.Second); ; {
		c.Mapper.Reset()
		if _, err := c.ResourceFor(gatewayGVK); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("Gateway CRD not served: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
