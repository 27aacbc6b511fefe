package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Severity of a finding: only errors fail the check.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Finding is one thing doctor found, with the command that fixes it.
type Finding struct {
	Severity Severity `json:"severity"`
	Check    Check    `json:"check"`
	Object   string   `json:"object,omitempty"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s %s: %s", f.Severity, f.Check, f.Message)
	if f.Object != "" {
		s = fmt.Sprintf("%s %s: %s: %s", f.Severity, f.Check, f.Object, f.Message)
	}
	return s
}

// Check names a doctor check.
type Check string

// The checks.
const (
	CheckLinkerd    Check = "linkerd-version"
	CheckGatewayAPI Check = "gateway-api-version"
	CheckCRDOwner   Check = "gateway-api-owner"
	CheckSMI        Check = "linkerd-smi"
	CheckProfile    Check = "profile-overrides-route"
	CheckSteering   Check = "steered-twice"
)

// LinkerdInfo is what doctor learned of the control plane.
type LinkerdInfo struct {
	Namespace string `json:"namespace"`
	Version   string `json:"version,omitempty"`
	// From says where the version was read (ConfigMap, label or image).
	From    string `json:"from,omitempty"`
	Release string `json:"release,omitempty"`
}

// GatewayAPIInfo is what doctor learned of the Gateway API CRDs.
type GatewayAPIInfo struct {
	Installed     bool     `json:"installed"`
	BundleVersion string   `json:"bundleVersion,omitempty"`
	Channel       string   `json:"channel,omitempty"`
	CRDs          []string `json:"crds,omitempty"`
	// Owner is "linkerd-chart", "helm:<release>", "manual" or "controller:<manager>".
	Owner string `json:"owner,omitempty"`
}

// Report is the outcome of one doctor run.
type Report struct {
	Linkerd       LinkerdInfo    `json:"linkerd"`
	GatewayAPI    GatewayAPIInfo `json:"gatewayAPI"`
	Findings      []Finding      `json:"findings"`
	Compatibility []Release      `json:"compatibility"`
}

// Errors counts the findings of severity error.
func (r *Report) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}

// Options of a doctor run.
type Options struct {
	// LinkerdNamespace is the control plane's namespace ("linkerd" when empty).
	LinkerdNamespace string
	// Namespace limits the per-object checks (profiles, steering) to one namespace; "" is all.
	Namespace string
}

// Run checks the cluster.
func Run(ctx context.Context, c *kube.Clients, opts Options) (*Report, error) {
	if opts.LinkerdNamespace == "" {
		opts.LinkerdNamespace = "linkerd"
	}
	r := &Report{Compatibility: Compatibility, Linkerd: LinkerdInfo{Namespace: opts.LinkerdNamespace}}
	if err := r.linkerdVersion(ctx, c); err != nil {
		return nil, err
	}
	crds, err := listCRDs(ctx, c)
	if err != nil {
		return nil, err
	}
	r.gatewayAPI(crds)
	r.smi(ctx, c, crds)
	w := &world{c: c, ns: opts.Namespace, crds: crds}
	if err := r.profiles(ctx, w); err != nil {
		return nil, err
	}
	if err := r.steering(ctx, w); err != nil {
		return nil, err
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int { return rank(a.Severity) - rank(b.Severity) })
	return r, nil
}

func rank(s Severity) int {
	return map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}[s]
}

func (r *Report) add(sev Severity, check Check, object, fix, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Severity: sev, Check: check, Object: object, Message: fmt.Sprintf(format, args...), Fix: fix})
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// listCRDs reads every CRD's metadata and group.
func listCRDs(ctx context.Context, c *kube.Clients) ([]unstructured.Unstructured, error) {
	list, err := c.Dynamic.Resource(crdResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list CustomResourceDefinitions: %w", err)
	}
	return list.Items, nil
}

func crdGroup(crd unstructured.Unstructured) string {
	g, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	return g
}

// linkerdVersion reads the control plane's version: the linkerd-config ConfigMap's values,
// else the control-plane-version label or image tag of its deployments.
func (r *Report) linkerdVersion(ctx context.Context, c *kube.Clients) error {
	ns := r.Linkerd.Namespace
	cm, err := c.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "linkerd-config", metav1.GetOptions{})
	switch {
	case err == nil:
		var values map[string]any
		_ = yaml.Unmarshal([]byte(cm.Data["values"]), &values)
		for _, k := range []string{"linkerdVersion", "cliVersion"} {
			if v, ok := values[k].(string); ok && v != "" {
				r.Linkerd.Version, r.Linkerd.From = v, "ConfigMap "+ns+"/linkerd-config ("+k+")"
				break
			}
		}
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("read ConfigMap %s/linkerd-config: %w", ns, err)
	}
	if r.Linkerd.Version == "" {
		deps, err := c.Kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list deployments in %s: %w", ns, err)
		}
		for _, d := range deps.Items {
			if v := d.Labels["linkerd.io/control-plane-version"]; v != "" {
				r.Linkerd.Version, r.Linkerd.From = v, "Deployment "+ns+"/"+d.Name+" label linkerd.io/control-plane-version"
				break
			}
			for _, ctr := range d.Spec.Template.Spec.Containers {
				if i := strings.LastIndex(ctr.Image, ":"); i > 0 && strings.Contains(ctr.Image, "linkerd") && r.Linkerd.Version == "" {
					r.Linkerd.Version, r.Linkerd.From = ctr.Image[i+1:], "Deployment "+ns+"/"+d.Name+" image "+ctr.Image
				}
			}
		}
	}
	if r.Linkerd.Version == "" {
		r.add(SeverityWarning, CheckLinkerd, "namespace "+ns, "linkerd install --crds | kubectl apply -f - && linkerd install | kubectl apply -f -",
			"no Linkerd control plane found (no linkerd-config ConfigMap, no control-plane deployments): the other checks assume the newest release in the table")
		return nil
	}
	rel, ok := release(r.Linkerd.Version)
	if !ok {
		r.add(SeverityWarning, CheckLinkerd, "", "linkerd upgrade | kubectl apply -f -",
			"Linkerd %s is older than this table (%s..%s) or unreadable: upgrade", r.Linkerd.Version, Compatibility[0].Linkerd, Compatibility[len(Compatibility)-1].Linkerd)
		return nil
	}
	r.Linkerd.Release = rel.Linkerd
	r.add(SeverityInfo, CheckLinkerd, "", "", "Linkerd %s (release %s, from %s): supports Gateway API up to %s, reads fields up to %s",
		r.Linkerd.Version, rel.Linkerd, r.Linkerd.From, rel.MaxGatewayAPI, rel.ReadsFieldsUpTo)
	return nil
}

// releaseOf is the table entry doctor judges by: the control plane's, else the newest.
func (r *Report) releaseOf() Release {
	for _, rel := range Compatibility {
		if rel.Linkerd == r.Linkerd.Release {
			return rel
		}
	}
	return Compatibility[len(Compatibility)-1]
}
