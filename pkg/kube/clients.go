// Package kube builds Kubernetes clients from kubectl-style flags and offers the few cluster
// operations every trafficctl command shares: server-side apply with field manager
// "trafficctl" and strict field validation, dry runs, and discovery of the mesh APIs a cluster
// serves. It also declares every label and annotation key trafficctl uses (labels.go).
//
// Discover stays hand-written rather than client-go's discovery client, because it reads only
// the mesh groups and honours its context; it orders versions with apimachinery's
// CompareKubeAwareVersionStrings.
package kube

import (
	"errors"
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// FieldManager is the server-side apply field manager for every write trafficctl makes.
const FieldManager = "trafficctl"

// ErrUnreachable marks a request that never got an answer from the API server.
var ErrUnreachable = errors.New("cluster unreachable")

// UnreachableError names the server and kubeconfig context a failed connection was aimed at, so
// the user sees which cluster to check.
type UnreachableError struct {
	Server  string
	Context string
	Err     error
}

func (e *UnreachableError) Error() string {
	ctx := e.Context
	if ctx == "" {
		ctx = "(none)"
	}
	return fmt.Sprintf("cannot reach the Kubernetes API server %s (context %s): %v; check --kubeconfig/--context and that the cluster is running", e.Server, ctx, e.Err)
}

// Is makes errors.Is(err, ErrUnreachable) true.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }
func (e *UnreachableError) Unwrap() error        { return e.Err }

// Clients bundles the clients and connection facts a command needs.
type Clients struct {
	Config    *rest.Config
	Kube      kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.CachedDiscoveryInterface
	Mapper    meta.ResettableRESTMapper
	// Namespace is the effective namespace: -n, else the kubeconfig context's, else "default".
	Namespace string
	// NamespaceExplicit is true when the user passed -n/--namespace.
	NamespaceExplicit bool
	// Context and Server identify the cluster in error messages.
	Context string
	Server  string
}

// NewClients builds clients from a RESTClientGetter (the global --kubeconfig/--context/-n flags).
// It does not contact the cluster.
func NewClients(getter genericclioptions.RESTClientGetter) (*Clients, error) {
	loader := getter.ToRawKubeConfigLoader()
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w (set --kubeconfig or KUBECONFIG, or pass --context)", err)
	}
	ns, explicit, err := loader.Namespace()
	if err != nil {
		return nil, fmt.Errorf("read namespace from kubeconfig: %w", err)
	}
	contextName := ""
	if raw, err := loader.RawConfig(); err == nil {
		contextName = raw.CurrentContext
	}
	if cf, ok := getter.(*genericclioptions.ConfigFlags); ok && cf.Context != nil && *cf.Context != "" {
		contextName = *cf.Context
	}
	return NewClientsForConfig(cfg, ns, explicit, contextName)
}

// NewClientsForConfig builds clients for an explicit REST config (tests, in-cluster use).
func NewClientsForConfig(cfg *rest.Config, namespace string, explicit bool, contextName string) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	server := cfg.Host
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &unreachableRoundTripper{next: rt, server: server, context: contextName}
	})
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("build Kubernetes client for %s: %w", server, err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("build dynamic client for %s: %w", server, err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("build discovery client for %s: %w", server, err)
	}
	// In memory only: a CLI run is short, and a disk cache would hide CRDs installed a moment ago.
	cached := memory.NewMemCacheClient(disc)
	if namespace == "" {
		namespace = "default"
	}
	return &Clients{
		Config:            cfg,
		Kube:              kc,
		Dynamic:           dc,
		Discovery:         cached,
		Mapper:            restmapper.NewDeferredDiscoveryRESTMapper(cached),
		Namespace:         namespace,
		NamespaceExplicit: explicit,
		Context:           contextName,
		Server:            server,
	}, nil
}

// unreachableRoundTripper turns transport failures into UnreachableError so every command
// reports an unreachable cluster the same way.
type unreachableRoundTripper struct {
	next    http.RoundTripper
	server  string
	context string
}

func (u *unreachableRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := u.next.RoundTrip(req)
	if err != nil && req.Context().Err() == nil {
		return nil, &UnreachableError{Server: u.server, Context: u.context, Err: err}
	}
	return resp, err
}

func (u *unreachableRoundTripper) WrappedRoundTripper() http.RoundTripper { return u.next }
