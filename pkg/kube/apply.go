package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// DryRun says whether a write reaches the cluster, as kubectl's --dry-run flag does.
type DryRun string

const (
	// DryRunNone writes for real.
	DryRunNone DryRun = "none"
	// DryRunClient writes nothing and does not contact the server.
	DryRunClient DryRun = "client"
	// DryRunServer sends the request with dryRun=All: the server validates and admits it, but
	// persists nothing.
	DryRunServer DryRun = "server"
)

// ParseDryRun accepts the values of kubectl's --dry-run flag ("" means none).
func ParseDryRun(s string) (DryRun, error) {
	switch DryRun(s) {
	case "", DryRunNone:
		return DryRunNone, nil
	case DryRunClient, DryRunServer:
		return DryRun(s), nil
	}
	return "", fmt.Errorf("invalid --dry-run value %q: use none, client or server", s)
}

// Options returns the dryRun request parameter for this mode.
func (d DryRun) Options() []string {
	if d == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// ErrConflict marks a server-side apply that other field managers' ownership refused.
var ErrConflict = errors.New("apply conflict")

// ConflictError reports which fields another manager owns.
type ConflictError struct {
	Object string
	// Causes are the server's per-field messages ("conflict with \"kubectl\": .spec.x").
	Causes []string
	Err    error
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("apply %s: fields owned by another manager: %s; re-run with --force-conflicts to take them over, or change them with their owner", e.Object, strings.Join(e.Causes, "; "))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
func (e *ConflictError) Unwrap() error        { return e.Err }

// ApplyOptions control one server-side apply.
type ApplyOptions struct {
	DryRun DryRun
	// ForceConflicts takes ownership of fields other managers own, like kubectl's flag.
	ForceConflicts bool
}

// ResourceFor maps an object's kind to its REST resource, refreshing discovery once when the
// kind is unknown (a CRD installed a moment ago).
func (c *Clients) ResourceFor(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("the cluster does not serve %s: %w (install its CRD first)", gvk.String(), err)
	}
	if err != nil {
		return nil, fmt.Errorf("find resource for %s: %w", gvk.String(), err)
	}
	return m, nil
}

// ResourceInterface returns the dynamic client for obj's kind, scoped to its namespace (or
// c.Namespace when the object names none) for namespaced kinds.
func (c *Clients) ResourceInterface(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	m, err := c.ResourceFor(obj.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		return c.Dynamic.Resource(m.Resource), nil
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(c.Namespace)
	}
	return c.Dynamic.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
}

// Apply server-side applies obj with field manager "trafficctl" and strict field validation:
// an unknown or duplicated field is an error, never a dropped warning. With DryRunClient it
// returns obj unchanged without contacting the server.
func (c *Clients) Apply(ctx context.Context, obj *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, error) {
	if opts.DryRun == DryRunClient {
		return obj, nil
	}
	ri, err := c.ResourceInterface(obj)
	if err != nil {
		return nil, err
	}
	desc := Describe(obj)
	data, err := obj.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", desc, err)
	}
	force := opts.ForceConflicts
	out, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager:    FieldManager,
		Force:           &force,
		DryRun:          opts.DryRun.Options(),
		FieldValidation: metav1.FieldValidationStrict,
	})
	if apierrors.IsConflict(err) {
		return nil, &ConflictError{Object: desc, Causes: statusCauses(err), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("apply %s: %w", desc, err)
	}
	return out, nil
}

// Describe names an object the way error messages do: Kind namespace/name.
func Describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
}

func statusCauses(err error) []string {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Details == nil {
		return []string{err.Error()}
	}
	var causes []string
	for _, c := range st.Status().Details.Causes {
		causes = append(causes, c.Message)
	}
	if len(causes) == 0 {
		causes = []string{st.Status().Message}
	}
	return causes
}
