package migrate

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// ApplyOptions control how a migration reaches the cluster.
type ApplyOptions struct {
	DryRun         kube.DryRun
	ForceConflicts bool
	// Log receives one line per step ("HTTPRoute emojivoto/web-svc-default applied").
	Log func(string)
}

// Backup reads the migration's sources from the cluster as they are (server-set fields
// removed), for the undo command. Sources already gone are left out.
func Backup(ctx context.Context, c *kube.Clients, ms []*Migration) ([]byte, error) {
	var docs []string
	for _, m := range ms {
		for _, s := range m.Sources {
			obj, err := getSource(ctx, c, s)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, f := range [][]string{{"metadata", "managedFields"}, {"metadata", "resourceVersion"}, {"metadata", "uid"},
				{"metadata", "creationTimestamp"}, {"metadata", "generation"}, {"status"}} {
				unstructured.RemoveNestedField(obj.Object, f...)
			}
			b, err := yaml.Marshal(obj.Object)
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", s, err)
			}
			docs = append(docs, string(b))
		}
	}
	return []byte(strings.Join(docs, "---\n")), nil
}

func sourceInterface(c *kube.Clients, s Source) (schema.GroupVersionKind, error) {
	gv, err := schema.ParseGroupVersion(s.APIVersion)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("source %s: %w", s, err)
	}
	return gv.WithKind(s.Kind), nil
}

func getSource(ctx context.Context, c *kube.Clients, s Source) (*unstructured.Unstructured, error) {
	gvk, err := sourceInterface(c, s)
	if err != nil {
		return nil, err
	}
	m, err := c.ResourceFor(gvk)
	if err != nil {
		return nil, err
	}
	return c.Dynamic.Resource(m.Resource).Namespace(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
}

// Apply moves one Service in the safe order: server-side apply every route (field manager
// trafficctl), check the server kept each one and that no parent refused it, and only then
// delete the ServiceProfile and TrafficSplit. A failure before the deletes leaves the old
// objects in charge (they override the new routes) and returns the error.
func Apply(ctx context.Context, c *kube.Clients, m *Migration, opts ApplyOptions) error {
	log := opts.Log
	if log == nil {
		log = func(string) {}
	}
	suffix := dryRunSuffix(opts.DryRun)
	for _, r := range m.Routes {
		out, err := c.Apply(ctx, r.DeepCopy(), kube.ApplyOptions{DryRun: opts.DryRun, ForceConflicts: opts.ForceConflicts})
		if err != nil {
			return fmt.Errorf("apply the routes of %s/%s (nothing deleted): %w", m.Namespace, m.Service, err)
		}
		if opts.DryRun == kube.DryRunNone {
			if err := checkAccepted(ctx, c, out); err != nil {
				return fmt.Errorf("routes of %s/%s (nothing deleted): %w", m.Namespace, m.Service, err)
			}
		}
		log(fmt.Sprintf("%s applied%s", kube.Describe(r), suffix))
	}
	for _, s := range m.Sources {
		if opts.DryRun == kube.DryRunClient {
			log(fmt.Sprintf("%s deleted%s", s, suffix))
			continue
		}
		gvk, err := sourceInterface(c, s)
		if err != nil {
			return err
		}
		mapping, err := c.ResourceFor(gvk)
		if err != nil {
			return err
		}
		err = c.Dynamic.Resource(mapping.Resource).Namespace(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{DryRun: opts.DryRun.Options()})
		if apierrors.IsNotFound(err) {
			log(fmt.Sprintf("%s not in the cluster: nothing to delete", s))
			continue
		}
		if err != nil {
			return fmt.Errorf("delete %s (the new routes are applied; the old object still overrides them): %w", s, err)
		}
		log(fmt.Sprintf("%s deleted%s", s, suffix))
	}
	return nil
}

func dryRunSuffix(d kube.DryRun) string {
	if d == kube.DryRunNone {
		return ""
	}
	return " (dry run: " + string(d) + ")"
}

// checkAccepted reads a route back and fails when a parent's Accepted condition is False.
func checkAccepted(ctx context.Context, c *kube.Clients, applied *unstructured.Unstructured) error {
	ri, err := c.ResourceInterface(applied)
	if err != nil {
		return err
	}
	got, err := ri.Get(ctx, applied.GetName(), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read back %s: %w", kube.Describe(applied), err)
	}
	parents, _, _ := unstructured.NestedSlice(got.Object, "status", "parents")
	for _, p := range parents {
		pm, _ := p.(map[string]any)
		conds, _, _ := unstructured.NestedSlice(pm, "conditions")
		for _, cnd := range conds {
			cm, _ := cnd.(map[string]any)
			if cm["type"] == "Accepted" && cm["status"] == string(metav1.ConditionFalse) {
				return fmt.Errorf("%s not accepted by its parent: %v: %v", kube.Describe(applied), cm["reason"], cm["message"])
			}
		}
	}
	return nil
}

// UndoCommand is the shell command that puts the old objects back (from backupFile) and
// removes the new routes.
func UndoCommand(ms []*Migration, backupFile string) string {
	byNS := map[string][]string{}
	var nss []string
	for _, m := range ms {
		for _, r := range m.Routes {
			if _, ok := byNS[m.Namespace]; !ok {
				nss = append(nss, m.Namespace)
			}
			byNS[m.Namespace] = append(byNS[m.Namespace], resourceName(r)+"/"+r.GetName())
		}
	}
	parts := []string{"kubectl apply --server-side --field-manager=trafficctl -f " + backupFile}
	for _, ns := range nss {
		parts = append(parts, fmt.Sprintf("kubectl delete -n %s %s", ns, strings.Join(byNS[ns], " ")))
	}
	return strings.Join(parts, " && ")
}

// resourceName is kubectl's fully qualified resource name of a route: httproutes.gateway.networking.k8s.io.
func resourceName(r *unstructured.Unstructured) string {
	gvk := r.GroupVersionKind()
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	return plural.Resource + "." + gvk.Group
}
