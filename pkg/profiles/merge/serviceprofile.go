package merge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/profiles"
)

// generatedName matches the route names trafficctl generates: "METHOD /path" for HTTP and
// "/package.Service/Method" for gRPC, with an optional " #N" made-unique suffix. Routes of an
// existing profile named otherwise were written by hand and survive a merge.
var generatedName = regexp.MustCompile(`^(?:(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT|QUERY) /.*|/[A-Za-z0-9_.]+/[A-Za-z0-9_]+)(?: #[0-9]+)?$`)

// IsGeneratedRouteName tells whether a route name has the form trafficctl generates.
func IsGeneratedRouteName(name string) bool { return generatedName.MatchString(name) }

// ReadServiceProfile reads the first ServiceProfile of a YAML or JSON file (a multi-document
// stream, `kubectl get -o yaml` output included).
func ReadServiceProfile(source string, data []byte) (*profiles.ServiceProfile, error) {
	for i, doc := range profiles.SplitDocuments(data) {
		var head struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, profiles.InputErrorf(source, fmt.Sprintf("document %d", i+1), "not YAML or JSON: %v", err)
		}
		if head.Kind != profiles.ServiceProfileKind {
			continue
		}
		sp := new(profiles.ServiceProfile)
		if err := yaml.Unmarshal(doc, sp); err != nil {
			return nil, profiles.InputErrorf(source, fmt.Sprintf("document %d", i+1), "invalid ServiceProfile: %v", err)
		}
		return sp, nil
	}
	return nil, profiles.InputErrorf(source, "", "no ServiceProfile in the file")
}

// ServiceProfile updates an existing ServiceProfile with a generated one: routes written by hand (names
// trafficctl does not generate) stay first, in their order, since the user put them where the
// first match should land; generated routes are replaced by the new ones; dstOverrides,
// opaquePorts, labels and annotations are kept, and so is the retry budget unless a new one
// is given. It returns the merged profile and one line per change.
func ServiceProfile(existing, generated *profiles.ServiceProfile) (*profiles.ServiceProfile, []string) {
	out := *generated
	out.Metadata.Labels = mergeMaps(existing.Metadata.Labels, generated.Metadata.Labels)
	out.Metadata.Annotations = mergeMaps(existing.Metadata.Annotations, generated.Metadata.Annotations)
	out.Spec.DstOverrides = existing.Spec.DstOverrides
	out.Spec.OpaquePorts = existing.Spec.OpaquePorts
	var changes []string
	if existing.Metadata.Name != "" && existing.Metadata.Name != generated.Metadata.Name {
		changes = append(changes, fmt.Sprintf("renamed the profile %q to %q", existing.Metadata.Name, generated.Metadata.Name))
	}
	if out.Spec.RetryBudget == nil {
		out.Spec.RetryBudget = existing.Spec.RetryBudget
	} else if !sameJSON(existing.Spec.RetryBudget, out.Spec.RetryBudget) {
		changes = append(changes, "updated the retry budget")
	}
	if n := len(existing.Spec.DstOverrides); n > 0 {
		changes = append(changes, fmt.Sprintf("kept %d dstOverrides", n))
	}
	old := map[string]profiles.RouteSpec{}
	var routes []profiles.RouteSpec
	for _, r := range existing.Spec.Routes {
		if IsGeneratedRouteName(r.Name) {
			old[r.Name] = r
			continue
		}
		routes = append(routes, r)
		changes = append(changes, fmt.Sprintf("kept hand-written route %q", r.Name))
	}
	for _, r := range generated.Spec.Routes {
		prev, ok := old[r.Name]
		switch {
		case !ok:
			changes = append(changes, fmt.Sprintf("added route %q", r.Name))
		case !sameJSON(prev, r):
			changes = append(changes, fmt.Sprintf("updated route %q (%s)", r.Name, strings.Join(routeDiff(prev, r), ", ")))
		}
		delete(old, r.Name)
		routes = append(routes, r)
	}
	for _, r := range existing.Spec.Routes {
		if _, gone := old[r.Name]; gone {
			changes = append(changes, fmt.Sprintf("removed route %q: the contract no longer has it", r.Name))
		}
	}
	out.Spec.Routes = routes
	return &out, changes
}

func routeDiff(a, b profiles.RouteSpec) []string {
	var d []string
	if !sameJSON(a.Condition, b.Condition) {
		d = append(d, "condition")
	}
	if a.IsRetryable != b.IsRetryable {
		d = append(d, fmt.Sprintf("isRetryable %t -> %t", a.IsRetryable, b.IsRetryable))
	}
	if a.Timeout != b.Timeout {
		d = append(d, fmt.Sprintf("timeout %q -> %q", a.Timeout, b.Timeout))
	}
	if !sameJSON(a.ResponseClasses, b.ResponseClasses) {
		d = append(d, "responseClasses")
	}
	return d
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func mergeMaps(a, b map[string]string) map[string]string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
