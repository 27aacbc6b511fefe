package split

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/smi"
)

// SMIRouter splits traffic with an SMI TrafficSplit, which the (deprecated) linkerd-smi
// extension turns into the apex's ServiceProfile dstOverrides.
type SMIRouter struct {
	clients *kube.Clients
	smi     *smi.Client
	// read is the version reads go through and write the one writes use. The linkerd-smi CRD
	// stores v1alpha1 without conversion, so an object written as v1alpha1 ("500m") does not
	// decode as v1alpha2 (integers): reading through v1alpha1, whose quantities accept both,
	// never fails.
	read, write smi.Version
}

// NewSMIRouter returns a router that reads TrafficSplits through version read and writes
// them as version write.
func NewSMIRouter(c *kube.Clients, read, write smi.Version) (*SMIRouter, error) {
	for _, v := range []smi.Version{read, write} {
		if _, err := smi.ParseVersion(string(v)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	sc, err := smi.NewClient(c.Config)
	if err != nil {
		return nil, err
	}
	return &SMIRouter{clients: c, smi: sc, read: read, write: write}, nil
}

// Kind is KindSMI.
func (r *SMIRouter) Kind() Kind { return KindSMI }

// WriteVersion is the TrafficSplit version SetWeights writes.
func (r *SMIRouter) WriteVersion() smi.Version { return r.write }

func (r *SMIRouter) describe(t *smi.TrafficSplit) string {
	return fmt.Sprintf("TrafficSplit.%s/%s %s/%s", smi.Group, r.write, t.Namespace, t.Name)
}

// splits lists the TrafficSplits in ns whose apex is apex, sorted by name.
func (r *SMIRouter) splits(ctx context.Context, ns, apex string) ([]*smi.TrafficSplit, error) {
	all, err := r.smi.List(ctx, r.read, ns)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(all, func(t *smi.TrafficSplit) bool { return t.Service != apex })
	slices.SortFunc(out, func(a, b *smi.TrafficSplit) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Get reports the TrafficSplit(s) whose apex is apex.
func (r *SMIRouter) Get(ctx context.Context, ns, apex string) (*Split, error) {
	if _, err := ApexService(ctx, r.clients.Kube, ns, apex); err != nil {
		return nil, err
	}
	tss, err := r.splits(ctx, ns, apex)
	if err != nil {
		return nil, err
	}
	if len(tss) == 0 {
		return nil, fmt.Errorf("%w: no TrafficSplit in %s has apex Service %s", ErrNotFound, ns, apex)
	}
	s := &Split{Router: KindSMI, Namespace: ns, Apex: apex, Uniform: true, Backends: fromSMI(tss[0].Backends)}
	for _, t := range tss {
		bs := fromSMI(t.Backends)
		if !slices.Equal(bs, s.Backends) {
			s.Uniform = false
		}
		s.Rules = append(s.Rules, RuleSplit{Object: r.describe(t), Rule: -1, Backends: bs})
	}
	return s, nil
}

type tsWrite struct {
	orig, next *smi.TrafficSplit // orig is nil for a create
}

// SetWeights sets the backends of every TrafficSplit of apex, or creates "<apex>-split".
func (r *SMIRouter) SetWeights(ctx context.Context, ns, apex string, bs []Backend, opts SetOptions) (*Result, error) {
	if _, err := ValidateBackends(ctx, r.clients.Kube, ns, apex, bs); err != nil {
		return nil, err
	}
	tss, err := r.splits(ctx, ns, apex)
	if err != nil {
		return nil, err
	}
	var writes []tsWrite
	for _, t := range tss {
		if !slices.Equal(fromSMI(t.Backends), bs) {
			writes = append(writes, tsWrite{orig: t, next: r.withBackends(t, bs)})
		}
	}
	if len(tss) == 0 {
		writes = append(writes, tsWrite{next: smi.New(r.write, ns, apex+"-split", apex, toSMI(bs))})
	}
	res := &Result{Router: KindSMI, DryRun: opts.DryRun}
	if opts.DryRun == kube.DryRunClient || len(writes) == 0 {
		res.Changes = r.changes(writes)
		return res, nil
	}
	// The server checks every write before any is made, so that one it refuses changes nothing.
	dryRunAll := []string{metav1.DryRunAll}
	for i, w := range writes {
		_, err := r.send(ctx, w, dryRunAll)
		if apierrors.IsConflict(err) && w.orig != nil {
			// Written since we read it: decide now, as the real write would.
			writes[i], _, err = r.retry(ctx, w, bs, opts.Force, dryRunAll)
		}
		if err != nil {
			return nil, err
		}
	}
	if opts.DryRun == kube.DryRunServer {
		res.Changes = r.changes(writes)
		return res, nil
	}
	var done []tsWrite
	for _, w := range writes {
		out, err := r.send(ctx, w, nil)
		if apierrors.IsConflict(err) && w.orig != nil {
			w, out, err = r.retry(ctx, w, bs, opts.Force, nil)
		}
		if err != nil {
			return nil, r.rollback(ctx, done, err)
		}
		w.next = out
		done = append(done, w)
	}
	res.Changes = r.changes(done)
	return res, nil
}

// withBackends is t with only the backends (and the write version) changed.
func (r *SMIRouter) withBackends(t *smi.TrafficSplit, bs []Backend) *smi.TrafficSplit {
	next := *t
	next.ObjectMeta = *t.ObjectMeta.DeepCopy()
	next.Version = r.write
	next.Backends = toSMI(bs)
	return &next
}

func (r *SMIRouter) send(ctx context.Context, w tsWrite, dryRun []string) (*smi.TrafficSplit, error) {
	if w.orig == nil {
		return r.smi.Create(ctx, w.next, dryRun)
	}
	return r.smi.Update(ctx, w.next, dryRun)
}

// retry re-reads a TrafficSplit whose update conflicted and writes the weights again, unless
// another writer changed them and force is off. Labels, annotations and anything else the
// other writer changed are kept: only the backends are replaced. dryRun is passed on to the
// update.
func (r *SMIRouter) retry(ctx context.Context, w tsWrite, bs []Backend, force bool, dryRun []string) (tsWrite, *smi.TrafficSplit, error) {
	desc := r.describe(w.orig)
	var out *smi.TrafficSplit
	err := retry.RetryOnConflict(conflictBackoff, func() error {
		fresh, err := r.smi.Get(ctx, r.read, w.orig.Namespace, w.orig.Name)
		if err != nil {
			return fmt.Errorf("re-read after a conflict: %w", err)
		}
		was, now := fromSMI(w.orig.Backends), fromSMI(fresh.Backends)
		if !slices.Equal(was, now) && !force {
			return &WeightsChangedError{Object: r.describe(fresh), Rule: -1, Read: was, Now: now}
		}
		w = tsWrite{orig: fresh, next: r.withBackends(fresh, bs)}
		out, err = r.send(ctx, w, dryRun)
		return err
	})
	if err != nil {
		return w, nil, stillConflicting(desc, err)
	}
	return w, out, nil
}

// rollback undoes earlier writes of a call that failed part way.
func (r *SMIRouter) rollback(ctx context.Context, done []tsWrite, cause error) error {
	var failed []string
	for i := len(done) - 1; i >= 0; i-- {
		w := done[i]
		var err error
		if w.orig == nil {
			err = r.smi.Delete(ctx, r.write, w.next.Namespace, w.next.Name, w.next.UID, w.next.ResourceVersion)
		} else {
			var cur *smi.TrafficSplit
			if cur, err = r.smi.Get(ctx, r.read, w.orig.Namespace, w.orig.Name); err == nil {
				cur.Version, cur.Backends = w.orig.Version, w.orig.Backends
				_, err = r.smi.Update(ctx, cur, nil)
			}
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", r.describe(w.next), err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w; rolling back also failed for %v: check them with `trafficctl split get`", cause, failed)
	}
	return cause
}

func (r *SMIRouter) changes(writes []tsWrite) []Change {
	var out []Change
	for _, w := range writes {
		c := Change{Object: r.describe(w.next), Rule: -1, Created: w.orig == nil, After: fromSMI(w.next.Backends)}
		if w.orig != nil {
			c.Before = fromSMI(w.orig.Backends)
		}
		out = append(out, c)
	}
	return out
}

func fromSMI(bs []smi.Backend) []Backend {
	out := make([]Backend, len(bs))
	for i, b := range bs {
		out[i] = Backend{Service: b.Service, Weight: b.Weight}
	}
	return out
}

func toSMI(bs []Backend) []smi.Backend {
	out := make([]smi.Backend, len(bs))
	for i, b := range bs {
		out[i] = smi.Backend{Service: b.Service, Weight: b.Weight}
	}
	return out
}
