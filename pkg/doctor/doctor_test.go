package doctor

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestRelease(t *testing.T) {
	tests := []struct {
		version, want string
		ok            bool
	}{
		{"stable-2.18.2", "2.18", true},
		{"enterprise-2.19.1", "2.19", true},
		{"edge-25.4.4", "2.18", true},
		{"edge-25.10.2", "2.19", true},
		{"edge-26.6.1", "2.20", true},
		{"edge-26.11.1", "2.20", true},
		{"2.21.0", "2.20", true},
		{"stable-2.14.10", "", false},
		{"edge-24.1.1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			r, ok := release(tt.version)
			if ok != tt.ok || (ok && r.Linkerd != tt.want) {
				t.Errorf("release(%q) = %s, %v; want %s, %v", tt.version, r.Linkerd, ok, tt.want, tt.ok)
			}
		})
	}
}

func crd(name string, labels, ann map[string]string, managers ...string) unstructured.Unstructured {
	u := unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"group": "gateway.networking.k8s.io"}}}
	u.SetName(name)
	u.SetLabels(labels)
	u.SetAnnotations(ann)
	var mfs []metav1.ManagedFieldsEntry
	for _, m := range managers {
		mfs = append(mfs, metav1.ManagedFieldsEntry{Manager: m, Operation: metav1.ManagedFieldsOperationApply})
	}
	u.SetManagedFields(mfs)
	return u
}

func bundle(v string) map[string]string {
	return map[string]string{AnnotationBundleVersion: v, AnnotationChannel: "standard"}
}

func TestGatewayAPI(t *testing.T) {
	helm := map[string]string{"app.kubernetes.io/managed-by": "Helm"}
	linkerdChart := bundle("v1.2.1")
	linkerdChart["meta.helm.sh/release-name"] = "linkerd-crds"
	tests := []struct {
		name    string
		release string
		crds    []unstructured.Unstructured
		owner   string
		want    []string // "severity check" of the findings
	}{
		{"none on 2.19", "2.19", nil, "", []string{"error gateway-api-version"}},
		{"none on 2.18", "2.18", nil, "", []string{"warning gateway-api-version"}},
		{"fits, by hand", "2.19", []unstructured.Unstructured{crd("httproutes.gateway.networking.k8s.io", nil, bundle("v1.2.1"), "kubectl")}, OwnerManual,
			[]string{"info gateway-api-version", "info gateway-api-owner"}},
		{"too new for 2.19", "2.19", []unstructured.Unstructured{crd("httproutes.gateway.networking.k8s.io", nil, bundle("v1.4.1"), "kubectl")}, OwnerManual,
			[]string{"error gateway-api-version", "info gateway-api-owner"}},
		{"newer fields ignored on 2.20", "2.20", []unstructured.Unstructured{crd("httproutes.gateway.networking.k8s.io", nil, bundle("v1.4.1"), "envoy-gateway")}, "controller:envoy-gateway",
			[]string{"info gateway-api-version", "warning gateway-api-owner"}},
		{"Linkerd's chart on 2.19", "2.19", []unstructured.Unstructured{crd("httproutes.gateway.networking.k8s.io", helm, linkerdChart, "helm")}, OwnerLinkerd,
			[]string{"info gateway-api-version", "error gateway-api-owner"}},
		{"mixed bundles", "2.20", []unstructured.Unstructured{crd("a.gateway.networking.k8s.io", nil, bundle("v1.2.1")), crd("b.gateway.networking.k8s.io", nil, bundle("v1.4.1"))}, "unknown",
			[]string{"warning gateway-api-version", "info gateway-api-version", "info gateway-api-version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Linkerd: LinkerdInfo{Release: tt.release}}
			r.gatewayAPI(tt.crds)
			if r.GatewayAPI.Owner != tt.owner {
				t.Errorf("owner %q, want %q", r.GatewayAPI.Owner, tt.owner)
			}
			var got []string
			for _, f := range r.Findings {
				got = append(got, string(f.Severity)+" "+string(f.Check))
				if f.Severity == SeverityError && f.Fix == "" {
					t.Errorf("error finding without a fix: %s", f)
				}
			}
			if strings.Join(got, ";") != strings.Join(tt.want, ";") {
				t.Errorf("findings %v, want %v", r.Findings, tt.want)
			}
		})
	}
}

func TestCompatibilityHasSources(t *testing.T) {
	for _, r := range Compatibility {
		if len(r.Sources) == 0 || r.MaxGatewayAPI == "" || r.ReadsFieldsUpTo == "" {
			t.Errorf("release %s: incomplete row %+v", r.Linkerd, r)
		}
	}
}
