package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Annotations the Gateway API project sets on its CRDs.
const (
	AnnotationBundleVersion = "gateway.networking.k8s.io/bundle-version"
	AnnotationChannel       = "gateway.networking.k8s.io/channel"
)

// Owner kinds of the Gateway API CRDs.
const (
	OwnerLinkerd = "linkerd-chart"
	OwnerManual  = "manual"
)

// manualManagers are the field managers of people (kubectl) rather than controllers.
var manualManagers = []string{"kubectl", "kubectl-client-side-apply", "kubectl-create", "kubectl-edit", "kubectl-replace", "kubectl-patch", "kubectl-label", "kubectl-annotate", kube.FieldManager}

// owner tells who installed a CRD: Linkerd's chart (Helm release or `linkerd install --crds`),
// another Helm release, another controller (by managedFields), or a person with kubectl.
func owner(crd unstructured.Unstructured) string {
	labels, ann := crd.GetLabels(), crd.GetAnnotations()
	release := ann["meta.helm.sh/release-name"]
	switch {
	case strings.Contains(release, "linkerd") || ann["linkerd.io/created-by"] != "" || labels["linkerd.io/control-plane-ns"] != "":
		return OwnerLinkerd
	case labels["app.kubernetes.io/managed-by"] == "Helm" || release != "":
		return "helm:" + release
	}
	manual := false
	for _, mf := range crd.GetManagedFields() {
		switch {
		case mf.Manager == "kube-apiserver" || mf.Manager == "" || mf.Subresource == "status":
		case slices.Contains(manualManagers, mf.Manager):
			manual = true
		default:
			return "controller:" + mf.Manager
		}
	}
	if manual {
		return OwnerManual
	}
	return "unknown"
}

// gatewayAPI reads the Gateway API CRDs' bundle version, channel and owner and judges them
// against the control plane's release.
func (r *Report) gatewayAPI(crds []unstructured.Unstructured) {
	rel := r.releaseOf()
	g := &r.GatewayAPI
	versions, channels, owners := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, crd := range crds {
		if crdGroup(crd) != "gateway.networking.k8s.io" {
			continue
		}
		g.Installed = true
		g.CRDs = append(g.CRDs, crd.GetName())
		versions[crd.GetAnnotations()[AnnotationBundleVersion]] = true
		channels[crd.GetAnnotations()[AnnotationChannel]] = true
		owners[owner(crd)] = true
	}
	install := fmt.Sprintf("kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v%s/standard-install.yaml", rel.ReadsFieldsUpTo)
	if !g.Installed {
		sev := SeverityError
		if rel.InstallsGatewayAPI {
			sev = SeverityWarning
		}
		r.add(sev, CheckGatewayAPI, "", install, "no Gateway API CRDs: HTTPRoutes and GRPCRoutes cannot be created (Linkerd %s does not install them%s)",
			rel.Linkerd, map[bool]string{true: " unless its CRD chart's installGatewayAPI is set", false: ""}[rel.InstallsGatewayAPI])
		return
	}
	g.BundleVersion, g.Channel, g.Owner = joinKeys(versions), joinKeys(channels), joinKeys(owners)
	r.judgeBundle(rel, versions, install)
	r.judgeOwner(rel, owners)
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func joinKeys(m map[string]bool) string {
	var ks []string
	for k := range m {
		if k == "" {
			k = "(none)"
		}
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

func (r *Report) judgeBundle(rel Release, versions map[string]bool, install string) {
	g := r.GatewayAPI
	if len(versions) > 1 {
		r.add(SeverityWarning, CheckGatewayAPI, "", install, "the Gateway API CRDs come from different bundles (%s): install one bundle", g.BundleVersion)
	}
	for _, v := range sortedKeys(versions) {
		switch {
		case v == "":
			r.add(SeverityWarning, CheckGatewayAPI, "", install, "a Gateway API CRD has no %s annotation: its version cannot be checked", AnnotationBundleVersion)
		case compareVersions(v, rel.MaxGatewayAPI) > 0:
			r.add(SeverityError, CheckGatewayAPI, "", install, "Gateway API %s is newer than Linkerd %s supports (%s): version skew breaks the control plane (linkerd2#14846)",
				v, rel.Linkerd, rel.MaxGatewayAPI)
		case compareVersions(v, "1.1.0") < 0:
			r.add(SeverityError, CheckGatewayAPI, "", install, "Gateway API %s predates GRPCRoute v1 (1.1.0)", v)
		case compareVersions(v, rel.ReadsFieldsUpTo) > 0:
			r.add(SeverityInfo, CheckGatewayAPI, "", "", "Gateway API %s: Linkerd ignores fields newer than %s", v, rel.ReadsFieldsUpTo)
		default:
			r.add(SeverityInfo, CheckGatewayAPI, "", "", "Gateway API %s (%s channel) fits Linkerd %s", v, g.Channel, rel.Linkerd)
		}
	}
}

func (r *Report) judgeOwner(rel Release, owners map[string]bool) {
	names := strings.Join(r.GatewayAPI.CRDs, " ")
	keep := "kubectl annotate crd " + names + " helm.sh/resource-policy=keep --overwrite"
	for _, o := range sortedKeys(owners) {
		switch {
		case o == OwnerLinkerd && !rel.InstallsGatewayAPI:
			r.add(SeverityError, CheckCRDOwner, "", keep, "Linkerd's CRD chart owns the Gateway API CRDs, but Linkerd %s no longer installs them: the next CRD upgrade deletes them and every route (linkerd2#12232)", rel.Linkerd)
		case o == OwnerLinkerd:
			r.add(SeverityWarning, CheckCRDOwner, "", keep, "Linkerd's CRD chart owns the Gateway API CRDs: %s is the last release that installs them, so upgrading deletes them unless they are kept", rel.Linkerd)
		case strings.HasPrefix(o, "controller:") || strings.HasPrefix(o, "helm:"):
			r.add(SeverityWarning, CheckCRDOwner, "", fmt.Sprintf("pin %s's Gateway API version to at most %s", strings.SplitN(o, ":", 2)[1], rel.MaxGatewayAPI),
				"%s manages the Gateway API CRDs and may move them past what Linkerd %s supports (%s)", o, rel.Linkerd, rel.MaxGatewayAPI)
		case o == OwnerManual:
			r.add(SeverityInfo, CheckCRDOwner, "", "", "the Gateway API CRDs were installed by hand (kubectl): upgrade them yourself when Linkerd allows")
		}
	}
}

// smi reports the deprecated linkerd-smi extension and the TrafficSplits it serves.
func (r *Report) smi(ctx context.Context, c *kube.Clients, crds []unstructured.Unstructured) {
	present := ""
	if deps, err := c.Kube.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: "linkerd.io/extension=smi"}); err == nil && len(deps.Items) > 0 {
		present = "Deployment " + deps.Items[0].Namespace + "/" + deps.Items[0].Name
	}
	if _, err := c.Kube.CoreV1().Namespaces().Get(ctx, "linkerd-smi", metav1.GetOptions{}); err == nil && present == "" {
		present = "namespace linkerd-smi"
	}
	hasCRD := slices.ContainsFunc(crds, func(u unstructured.Unstructured) bool { return u.GetName() == "trafficsplits.split.smi-spec.io" })
	if present == "" && !hasCRD {
		return
	}
	what := present
	if what == "" {
		what = "CRD trafficsplits.split.smi-spec.io"
	}
	r.add(SeverityWarning, CheckSMI, what, "trafficctl migrate -n NAMESPACE --apply (each namespace with TrafficSplits), then linkerd smi uninstall | kubectl delete -f -",
		"linkerd-smi is deprecated and will be removed: TrafficSplits stop working with it")
}
