package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

// API groups trafficctl builds on.
const (
	GroupSMISplit      = "split.smi-spec.io"
	GroupGatewayAPI    = "gateway.networking.k8s.io"
	GroupLinkerdPolicy = "policy.linkerd.io"
	GroupLinkerd       = "linkerd.io"
)

// MeshGroups are the groups Discover looks at.
var MeshGroups = []string{GroupSMISplit, GroupGatewayAPI, GroupLinkerdPolicy, GroupLinkerd}

// Served records which versions of which kinds a cluster serves, for the mesh groups only.
// Commands use it to pick an API version on their own.
type Served struct {
	// kinds maps group -> version -> kind names.
	kinds map[string]map[string][]string
	// preferred maps group -> the server's preferred version.
	preferred map[string]string
}

// Versions lists the versions of group that serve kind: the server's preferred version first,
// then the others in Kubernetes' priority order (GA, beta, alpha; then by major and minor).
func (s *Served) Versions(group, kind string) []string {
	var out []string
	if p := s.preferred[group]; slices.Contains(s.kinds[group][p], kind) {
		out = append(out, p)
	}
	for v, kinds := range s.kinds[group] {
		if v != s.preferred[group] && slices.Contains(kinds, kind) {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out[min(1, len(out)):], func(a, b string) int { return -version.CompareKubeAwareVersionStrings(a, b) })
	return out
}

// Serves reports whether the cluster serves kind at group/version.
func (s *Served) Serves(group, version, kind string) bool {
	return slices.Contains(s.kinds[group][version], kind)
}

// HasGroup reports whether any version of group is served.
func (s *Served) HasGroup(group string) bool { return len(s.kinds[group]) > 0 }

// Discover asks the API server which versions and kinds of the mesh groups it serves. Unlike
// client-go's discovery it reads only those groups, and honours ctx.
func (c *Clients) Discover(ctx context.Context) (*Served, error) {
	rc := c.Kube.Discovery().RESTClient()
	var groups metav1.APIGroupList
	raw, err := rc.Get().AbsPath("/apis").Do(ctx).Raw()
	if err != nil {
		return nil, fmt.Errorf("discover API groups: %w", err)
	}
	if err := json.Unmarshal(raw, &groups); err != nil {
		return nil, fmt.Errorf("decode API group list: %w", err)
	}
	s := &Served{kinds: map[string]map[string][]string{}, preferred: map[string]string{}}
	for _, g := range groups.Groups {
		if !slices.Contains(MeshGroups, g.Name) {
			continue
		}
		s.preferred[g.Name] = g.PreferredVersion.Version
		s.kinds[g.Name] = map[string][]string{}
		for _, gv := range g.Versions {
			var list metav1.APIResourceList
			raw, err := rc.Get().AbsPath("/apis", g.Name, gv.Version).Do(ctx).Raw()
			if apierrors.IsNotFound(err) {
				continue // a CRD version being removed; not served
			}
			if err != nil {
				return nil, fmt.Errorf("discover %s: %w", gv.GroupVersion, err)
			}
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, fmt.Errorf("decode resources of %s: %w", gv.GroupVersion, err)
			}
			for _, r := range list.APIResources {
				if !isSubresource(r.Name) {
					s.kinds[g.Name][gv.Version] = append(s.kinds[g.Name][gv.Version], r.Kind)
				}
			}
		}
	}
	return s, nil
}

func isSubresource(name string) bool {
	return strings.Contains(name, "/")
}
