package canary

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Where a rollout lives in the cluster.
//
// State and audit log are kept in one ConfigMap per apex Service, "trafficctl-canary-<apex>",
// rather than in annotations on the split object or in a CRD:
//   - the split may be one TrafficSplit or several HTTPRoutes (split.Router hides which), so no
//     single split object exists to annotate, and the router rewrites those objects;
//   - a ConfigMap needs no CRD installed for the CLI to work, and the controller's CRD-less RBAC
//     stays small (configmaps, events);
//   - one object per apex makes "two canaries on one apex" a create conflict, and every state
//     change is one resourceVersion-checked update, so a decision, its audit entry and the new
//     log head are written together or not at all;
//   - sealed log segments move to immutable ConfigMaps "trafficctl-canary-<apex>-log-<n>", each
//     under SegmentLimit, far below the 1 MiB object limit.
const (
	keyState = "state.json"
	keySpec  = "spec.json"
	keyLog   = "log.jsonl"
)

// SegmentLimit is the size at which the current log segment is sealed into its own ConfigMap.
var SegmentLimit = 512 * 1024

// Errors of the store.
var (
	// ErrNoRollout: no canary has ever run on the apex.
	ErrNoRollout = errors.New("no canary rollout for this apex")
	// ErrBusy: another canary is in progress on the apex.
	ErrBusy = errors.New("another canary is in progress on this apex")
	// ErrTampered: the audit log does not verify against its chain or anchor.
	ErrTampered = errors.New("audit log does not verify")
)

// StateName is the ConfigMap holding apex's rollout.
func StateName(apex string) string { return "trafficctl-canary-" + apex }

func segmentName(apex string, n int) string { return fmt.Sprintf("%s-log-%d", StateName(apex), n) }

// Entry is one audit log record. Hash covers every other field and Prev, the previous entry's
// hash, so that changing, dropping or reordering an entry breaks the chain.
type Entry struct {
	Seq          int       `json:"seq"`
	Time         time.Time `json:"time"`
	Canary       string    `json:"canary"`
	SpecHash     string    `json:"specHash"`
	Event        string    `json:"event"`
	Actor        string    `json:"actor"`
	Step         int       `json:"step"`
	WeightBefore int       `json:"weightBefore"`
	WeightAfter  int       `json:"weightAfter"`
	Phase        Phase     `json:"phase"`
	Verdict      Verdict   `json:"verdict,omitempty"`
	Checks       []Check   `json:"checks,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Prev         string    `json:"prev"`
	Hash         string    `json:"hash"`
}

func (e Entry) computeHash() string {
	e.Hash = ""
	b, _ := json.Marshal(e) // plain struct: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Segment is a sealed part of the log.
type Segment struct {
	ConfigMap string `json:"configMap"`
	Entries   int    `json:"entries"`
	Last      string `json:"last"`
}

// Record is a rollout as stored: its spec, state and the log's current segment.
type Record struct {
	Spec     *Canary
	State    *State
	Segments []Segment
	log      string
	rv       string
}

// Store reads and writes rollouts in one namespace.
type Store struct {
	kube kubernetes.Interface
	ns   string
}

// NewStore returns the store of namespace ns.
func NewStore(k kubernetes.Interface, ns string) *Store { return &Store{kube: k, ns: ns} }

// Namespace is the store's namespace.
func (s *Store) Namespace() string { return s.ns }

type stored struct {
	State    *State    `json:"state"`
	Segments []Segment `json:"segments,omitempty"`
}

// Get reads apex's rollout; ErrNoRollout when there is none.
func (s *Store) Get(ctx context.Context, apex string) (*Record, error) {
	cm, err := s.kube.CoreV1().ConfigMaps(s.ns).Get(ctx, StateName(apex), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("apex %s/%s: %w (start one with `trafficctl canary run FILE`)", s.ns, apex, ErrNoRollout)
	}
	if err != nil {
		return nil, fmt.Errorf("get ConfigMap %s/%s: %w", s.ns, StateName(apex), err)
	}
	return decodeRecord(cm)
}

func decodeRecord(cm *corev1.ConfigMap) (*Record, error) {
	r := &Record{Spec: &Canary{}, log: cm.Data[keyLog], rv: cm.ResourceVersion}
	var st stored
	if err := json.Unmarshal([]byte(cm.Data[keyState]), &st); err != nil || st.State == nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: unreadable %s: %v", cm.Namespace, cm.Name, keyState, err)
	}
	if err := json.Unmarshal([]byte(cm.Data[keySpec]), r.Spec); err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: unreadable %s: %w", cm.Namespace, cm.Name, keySpec, err)
	}
	r.State, r.Segments = st.State, st.Segments
	return r, nil
}

// Create stores a new rollout of c. A finished rollout on the same apex is replaced, keeping
// its log (history spans releases); an unfinished one of another spec is ErrBusy, and an
// unfinished one of the same spec is returned as is, to be resumed.
func (s *Store) Create(ctx context.Context, c *Canary, st *State, e Entry) (*Record, bool, error) {
	name := StateName(c.Spec.Apex)
	for {
		old, err := s.Get(ctx, c.Spec.Apex)
		if errors.Is(err, ErrNoRollout) {
			rec := &Record{Spec: c, State: st}
			rec.append(e)
			cm, err := rec.configMap(s.ns, name, c.Spec.Apex)
			if err != nil {
				return nil, false, err
			}
			created, err := s.kube.CoreV1().ConfigMaps(s.ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: kube.FieldManager, FieldValidation: "Strict"})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return nil, false, fmt.Errorf("create ConfigMap %s/%s: %w", s.ns, name, err)
			}
			rec.rv = created.ResourceVersion
			return rec, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		if !old.State.Phase.Terminal() {
			if old.State.Name == st.Name && old.State.SpecHash == st.SpecHash {
				return old, false, nil
			}
			return nil, false, fmt.Errorf("%w: canary %q (spec %s) is %s at %d%% on apex %s/%s; abort it with `trafficctl canary abort %s` or wait for it to finish",
				ErrBusy, old.State.Name, old.State.SpecHash, old.State.Phase, old.State.Weight, s.ns, c.Spec.Apex, c.Spec.Apex)
		}
		rec, err := s.Update(ctx, c.Spec.Apex, func(r *Record) (*Entry, error) {
			if !r.State.Phase.Terminal() {
				return nil, errRetryCreate
			}
			st.Head = r.State.Head
			r.Spec, r.State = c, st
			ee := e
			return &ee, nil
		})
		if errors.Is(err, errRetryCreate) {
			continue
		}
		return rec, err == nil, err
	}
}

var errRetryCreate = errors.New("rollout changed; retry")

// Update applies mutate to apex's rollout and writes it, with the entry mutate returns appended
// to the log, in one resourceVersion-checked write. On a conflict it re-reads and calls mutate
// again, so mutate must decide from the record it is given.
func (s *Store) Update(ctx context.Context, apex string, mutate func(*Record) (*Entry, error)) (*Record, error) {
	var out *Record
	err := retry.RetryOnConflict(updateBackoff, func() error {
		r, err := s.Get(ctx, apex)
		if err != nil {
			return err
		}
		e, err := mutate(r)
		if err != nil {
			return err
		}
		if e != nil {
			if err := s.sealIfFull(ctx, apex, r); err != nil {
				return err
			}
			r.append(*e)
		}
		cm, err := r.configMap(s.ns, StateName(apex), apex)
		if err != nil {
			return err
		}
		cm.ResourceVersion = r.rv
		updated, err := s.kube.CoreV1().ConfigMaps(s.ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: kube.FieldManager, FieldValidation: "Strict"})
		if err != nil {
			return fmt.Errorf("update ConfigMap %s/%s: %w", s.ns, cm.Name, err)
		}
		r.rv = updated.ResourceVersion
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// updateBackoff paces Update's re-reads after a conflict. Writers of one rollout are few (the
// engine and a user's promote or abort), so conflicts are rare and short-lived; the steps grow
// so that a burst of them still settles (eight attempts over about 1.3 s).
var updateBackoff = wait.Backoff{Steps: 8, Duration: 10 * time.Millisecond, Factor: 2, Jitter: 0.1}

// sealIfFull moves the current segment into its own immutable ConfigMap when full. A crash
// after the copy and before the main update leaves an identical copy behind, which the retry
// accepts.
func (s *Store) sealIfFull(ctx context.Context, apex string, r *Record) error {
	if len(r.log) < SegmentLimit {
		return nil
	}
	n := len(r.Segments)
	name := segmentName(apex, n)
	immutable := true
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns, Labels: map[string]string{kube.LabelCanaryApex: apex, kube.LabelManagedBy: kube.ManagedBy}},
		Data:       map[string]string{keyLog: r.log},
		Immutable:  &immutable,
	}
	_, err := s.kube.CoreV1().ConfigMaps(s.ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: kube.FieldManager, FieldValidation: "Strict"})
	if apierrors.IsAlreadyExists(err) {
		got, gerr := s.kube.CoreV1().ConfigMaps(s.ns).Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("get ConfigMap %s/%s: %w", s.ns, name, gerr)
		}
		if got.Data[keyLog] != r.log {
			return fmt.Errorf("seal audit log: ConfigMap %s/%s exists with other content: %w", s.ns, name, ErrTampered)
		}
	} else if err != nil {
		return fmt.Errorf("create ConfigMap %s/%s: %w", s.ns, name, err)
	}
	r.Segments = append(r.Segments, Segment{ConfigMap: name, Entries: strings.Count(r.log, "\n"), Last: r.State.Head})
	r.log = ""
	return nil
}

// append chains e onto the log and moves the anchor.
func (r *Record) append(e Entry) {
	e.Checks = finiteChecks(e.Checks)
	e.Prev = r.State.Head
	e.Seq = r.entries() + 1
	e.Hash = e.computeHash()
	b, _ := json.Marshal(e) // plain struct: cannot fail
	r.log += string(b) + "\n"
	r.State.Head = e.Hash
}

func (r *Record) entries() int {
	n := strings.Count(r.log, "\n")
	for _, s := range r.Segments {
		n += s.Entries
	}
	return n
}

func (r *Record) configMap(ns, name, apex string) (*corev1.ConfigMap, error) {
	st, err := json.Marshal(stored{State: r.State, Segments: r.Segments})
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	spec, err := json.Marshal(r.Spec)
	if err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{kube.LabelCanaryApex: apex, kube.LabelManagedBy: kube.ManagedBy}},
		Data:       map[string]string{keyState: string(st), keySpec: string(spec), keyLog: r.log},
	}, nil
}

// History reads apex's whole audit log, sealed segments first, and verifies it: every entry's
// hash, every link, and the last hash against the anchor in the rollout's state. It returns the
// entries read so far with an error wrapping ErrTampered when verification fails.
func (s *Store) History(ctx context.Context, apex string) ([]Entry, error) {
	r, err := s.Get(ctx, apex)
	if err != nil {
		return nil, err
	}
	var texts []string
	for _, seg := range r.Segments {
		cm, err := s.kube.CoreV1().ConfigMaps(s.ns).Get(ctx, seg.ConfigMap, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get ConfigMap %s/%s: %w", s.ns, seg.ConfigMap, err)
		}
		texts = append(texts, cm.Data[keyLog])
	}
	texts = append(texts, r.log)
	var out []Entry
	prev := ""
	for si, text := range texts {
		for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if line == "" {
				continue
			}
			var e Entry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				return out, fmt.Errorf("%w: entry %d: unreadable: %v", ErrTampered, len(out)+1, err)
			}
			if e.Seq != len(out)+1 {
				return out, fmt.Errorf("%w: entry %d has sequence number %d (an entry was removed or reordered)", ErrTampered, len(out)+1, e.Seq)
			}
			if e.Prev != prev {
				return out, fmt.Errorf("%w: entry %d does not link to entry %d", ErrTampered, e.Seq, e.Seq-1)
			}
			if h := e.computeHash(); h != e.Hash {
				return out, fmt.Errorf("%w: entry %d was modified (hash %.12s, content hashes to %.12s)", ErrTampered, e.Seq, e.Hash, h)
			}
			prev = e.Hash
			out = append(out, e)
		}
		if si < len(r.Segments) && r.Segments[si].Last != prev {
			return out, fmt.Errorf("%w: sealed segment %s does not end at its recorded hash", ErrTampered, r.Segments[si].ConfigMap)
		}
	}
	if prev != r.State.Head {
		return out, fmt.Errorf("%w: the log ends at %.12s but the anchor in ConfigMap %s/%s is %.12s (entries were removed or appended outside trafficctl)",
			ErrTampered, prev, s.ns, StateName(apex), r.State.Head)
	}
	return out, nil
}
