// Package split manages how an apex Service's traffic is divided between versioned backend
// Services (web-svc -> web-v1, web-v2). Linkerd does the weighted balancing; trafficctl only
// reads and writes the weights, through one of several routers: an SMI TrafficSplit, a Gateway
// API HTTPRoute or a Linkerd policy HTTPRoute. trafficctl never renames, clones or scales the
// user's workloads.
package split

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"

	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Router reads and sets the weights that split an apex Service's traffic between backend
// Services. There is one implementation per API (smi.go, gateway.go, linkerd.go); the canary
// engine drives a rollout through this interface alone.
type Router interface {
	// Kind names the router.
	Kind() Kind
	// Get returns how traffic to apex in namespace ns is split now. It returns an error
	// matching ErrNotFound when no object of this router steers apex yet.
	Get(ctx context.Context, ns, apex string) (*Split, error)
	// SetWeights makes every object of this router that steers apex send its traffic to
	// backends in the given proportions, creating the object when none exists. The backends
	// are the complete set: a backend not listed is dropped (list it with weight 0 to keep it).
	// It validates the backends against the cluster first, changes only the weights, and
	// returns what changed (with opts.DryRun, what would change). On error nothing is changed.
	SetWeights(ctx context.Context, ns, apex string, backends []Backend, opts SetOptions) (*Result, error)
}

// HeaderRouter is a Router that can also send requests carrying a header to one backend
// (A/B testing). Only the HTTPRoute routers implement it: a TrafficSplit cannot match headers.
type HeaderRouter interface {
	Router
	// SetHeaderRoute makes requests to apex that carry match go to the backend Service to,
	// on every path the split covers; other requests keep their weights. A header route set
	// earlier for apex is replaced. Same safety rules as SetWeights.
	SetHeaderRoute(ctx context.Context, ns, apex string, match HeaderMatch, to string, opts SetOptions) (*Result, error)
	// ClearHeaderRoute removes the header rules SetHeaderRoute added for apex; the weighted
	// rules stay as they are.
	ClearHeaderRoute(ctx context.Context, ns, apex string, opts SetOptions) (*Result, error)
}

// Kind names a router implementation; it is the value of the --router flag.
type Kind string

// Router kinds.
const (
	// KindAuto picks a router from what the cluster serves and what already steers the apex.
	KindAuto Kind = "auto"
	// KindSMI writes a TrafficSplit (split.smi-spec.io v1alpha1 or v1alpha2).
	KindSMI Kind = "smi"
	// KindGateway writes HTTPRoutes of gateway.networking.k8s.io.
	KindGateway Kind = "gateway"
	// KindLinkerd writes HTTPRoutes of policy.linkerd.io.
	KindLinkerd Kind = "linkerd"
)

// Kinds lists the accepted --router values, auto first.
var Kinds = []Kind{KindAuto, KindSMI, KindGateway, KindLinkerd}

// ParseKind checks a --router value.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: unknown router %q: use one of auto, smi, gateway, linkerd", ErrInvalid, s)
}

// Backend is one destination Service of a split and its relative weight.
type Backend struct {
	Service string `json:"service"`
	Weight  int64  `json:"weight"`
}

// String formats a backend the way the command line takes it: name=weight.
func (b Backend) String() string { return b.Service + "=" + strconv.FormatInt(b.Weight, 10) }

// FormatBackends joins backends as "a=90 b=10"; an empty list means the traffic goes to the
// apex Service itself.
func FormatBackends(bs []Backend) string {
	if len(bs) == 0 {
		return "(apex service)"
	}
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = b.String()
	}
	return strings.Join(parts, " ")
}

// Split is the current traffic split of one apex Service.
type Split struct {
	Router    Kind   `json:"router"`
	Namespace string `json:"namespace"`
	Apex      string `json:"apex"`
	// Backends is the weighted split that ordinary (non-header) traffic follows. Empty means
	// the traffic goes to the apex Service itself.
	Backends []Backend `json:"backends"`
	// Uniform is false when the objects or rules steering apex disagree on the weights;
	// Rules then tells them apart and Backends holds the first rule's weights.
	Uniform bool `json:"uniform"`
	// Rules lists every object (and, for HTTPRoutes, every rule) that steers apex.
	Rules []RuleSplit `json:"rules"`
	// Warnings point out gaps, such as apex ports no catch-all rule covers.
	Warnings []string `json:"warnings,omitempty"`
}

// RuleSplit is what one object or HTTPRoute rule does with apex's traffic.
type RuleSplit struct {
	// Object is "Kind namespace/name" (with the API group for HTTPRoutes).
	Object string `json:"object"`
	// Rule is the rule's index in the HTTPRoute, -1 for a TrafficSplit.
	Rule int `json:"rule"`
	// Match describes the requests the rule matches ("PathPrefix /", "Exact /api/list").
	Match    string    `json:"match,omitempty"`
	Backends []Backend `json:"backends"`
	// Header is set on a header (A/B) rule written by SetHeaderRoute.
	Header *HeaderMatch `json:"header,omitempty"`
}

// HeaderMatch selects requests whose header Name has exactly Value.
type HeaderMatch struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (h HeaderMatch) String() string { return h.Name + "=" + h.Value }

// SetOptions control one SetWeights or SetHeaderRoute call.
type SetOptions struct {
	// DryRun computes (client) or submits with dryRun=All (server) without persisting.
	DryRun kube.DryRun
	// Force writes even when another writer changed the weights since they were read.
	Force bool
}

// Result says what a write changed, or would change under DryRun.
type Result struct {
	Router  Kind        `json:"router"`
	DryRun  kube.DryRun `json:"dryRun,omitempty"`
	Changes []Change    `json:"changes"`
	// Warnings are things the user should know that did not stop the write (for example a
	// ServiceProfile that makes Linkerd ignore the HTTPRoutes).
	Warnings []string `json:"warnings,omitempty"`
}

// Change is one object or rule whose backends changed.
type Change struct {
	Object  string    `json:"object"`
	Rule    int       `json:"rule"`
	Created bool      `json:"created,omitempty"`
	Removed bool      `json:"removed,omitempty"`
	Match   string    `json:"match,omitempty"`
	Before  []Backend `json:"before"`
	After   []Backend `json:"after"`
}

// String renders a change as one line: "HTTPRoute web/r rule 0 (PathPrefix /): a=100 -> a=90 b=10".
func (c Change) String() string {
	where := c.Object
	if c.Rule >= 0 {
		where += fmt.Sprintf(" rule %d", c.Rule)
	}
	if c.Match != "" {
		where += " (" + c.Match + ")"
	}
	if c.Created {
		return fmt.Sprintf("%s: created with %s", where, FormatBackends(c.After))
	}
	if c.Removed {
		return fmt.Sprintf("%s: removed (was %s)", where, FormatBackends(c.Before))
	}
	return fmt.Sprintf("%s: %s -> %s", where, FormatBackends(c.Before), FormatBackends(c.After))
}

// Sentinel errors; match them with errors.Is.
var (
	// ErrNotFound: nothing of this router steers the apex yet.
	ErrNotFound = errors.New("not split yet")
	// ErrInvalid: the request is wrong (bad weights, unknown Service, port mismatch,
	// unsupported API version); the user must change the input.
	ErrInvalid = errors.New("invalid input")
	// ErrNotServed: the cluster does not serve the API the router needs (CRD not installed).
	ErrNotServed = errors.New("API not installed")
	// ErrAmbiguous: more than one kind of object steers the apex; pick a router explicitly.
	ErrAmbiguous = errors.New("apex steered by more than one router")
	// ErrWeightsChanged: another writer changed the weights between read and write.
	ErrWeightsChanged = errors.New("weights changed by another writer")
)

// WeightsChangedError shows the weights another writer set while ours were being written.
type WeightsChangedError struct {
	Object string
	Rule   int
	// Read is what we read first, Now is what the object holds now.
	Read, Now []Backend
}

func (e *WeightsChangedError) Error() string {
	where := e.Object
	if e.Rule >= 0 {
		where += fmt.Sprintf(" rule %d", e.Rule)
	}
	return fmt.Sprintf("%s: weights changed by another writer while updating (read %s, now %s); nothing was changed: re-run to apply on top of theirs, or pass --force to overwrite",
		where, FormatBackends(e.Read), FormatBackends(e.Now))
}

// Is makes errors.Is(err, ErrWeightsChanged) true.
func (e *WeightsChangedError) Is(target error) bool { return target == ErrWeightsChanged }

// conflictBackoff paces the re-reads after an update conflict that left the weights alone:
// client-go's default for RetryOnConflict (five attempts, 10 ms apart).
var conflictBackoff = retry.DefaultRetry

// stillConflicting explains a conflict that outlasted conflictBackoff; other errors pass through.
func stillConflicting(desc string, err error) error {
	if apierrors.IsConflict(err) {
		return fmt.Errorf("update %s: still conflicting after %d re-reads: another writer keeps changing it; try again: %w", desc, conflictBackoff.Steps, err)
	}
	return err
}
