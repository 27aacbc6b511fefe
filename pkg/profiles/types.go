// Package profiles turns API contracts (OpenAPI 2.0/3.0/3.1 documents, protobuf service
// definitions) into per-route Linkerd policy: ServiceProfiles (linkerd.io/v1alpha2) and Gateway
// API HTTPRoutes/GRPCRoutes with Linkerd's retry and timeout annotations.
//
// The generator is built so that, for every operation, a concrete request to that operation is
// matched first by its own route: literals are escaped, parameters are typed from their schema,
// routes are ordered by specificity and overlaps that ordering cannot resolve are reported.
//
// The package holds the model (API, Operation, Plan), the readers (OpenAPI 2 and 3, proto, the
// path template) and the emitters (ServiceProfile, HTTPRoute/GRPCRoute). Around it:
// pkg/profiles/merge updates objects a user edited with generated ones, pkg/profiles/lint checks
// manifests, and pkg/internal/regex does the regex arithmetic (difference, complement,
// sampling) that keeps HTTPRoute regexes disjoint.
package profiles

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceProfile API coordinates.
const (
	// ServiceProfileAPIVersion is the version trafficctl writes (the CRD's storage version).
	ServiceProfileAPIVersion = "linkerd.io/v1alpha2"
	// ServiceProfileKind is the ServiceProfile kind.
	ServiceProfileKind = "ServiceProfile"
	// DefaultClusterDomain is the cluster domain used in ServiceProfile names.
	DefaultClusterDomain = "cluster.local"
)

// The types below mirror the linkerd.io ServiceProfile CRD (not Linkerd's Go types): in the CRD a
// route condition's `not` is a list while a response condition's `not` is an object, and the
// generator must produce what the API server accepts.

// ServiceProfile is a linkerd.io/v1alpha2 ServiceProfile.
type ServiceProfile struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        ObjectMeta         `json:"metadata"`
	Spec            ServiceProfileSpec `json:"spec"`
}

// ObjectMeta is the part of Kubernetes object metadata a generated object carries. Server-set
// fields (resourceVersion, creationTimestamp, ...) are left out on purpose: a generated
// manifest is applied, not round-tripped.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ServiceProfileSpec is the spec of a ServiceProfile.
type ServiceProfileSpec struct {
	Routes       []RouteSpec   `json:"routes,omitempty"`
	RetryBudget  *RetryBudget  `json:"retryBudget,omitempty"`
	DstOverrides []WeightedDst `json:"dstOverrides,omitempty"`
	OpaquePorts  []string      `json:"opaquePorts,omitempty"`
}

// RouteSpec is one ServiceProfile route; the proxy uses the first route whose condition matches.
type RouteSpec struct {
	Name            string          `json:"name"`
	Condition       *RequestMatch   `json:"condition"`
	ResponseClasses []ResponseClass `json:"responseClasses,omitempty"`
	IsRetryable     bool            `json:"isRetryable,omitempty"`
	Timeout         string          `json:"timeout,omitempty"`
}

// RequestMatch is a route condition; its fields are ANDed.
type RequestMatch struct {
	All       []RequestMatch `json:"all,omitempty"`
	Any       []RequestMatch `json:"any,omitempty"`
	Not       []RequestMatch `json:"not,omitempty"`
	PathRegex string         `json:"pathRegex,omitempty"`
	Method    string         `json:"method,omitempty"`
}

// ResponseClass classifies responses as failures or successes for retries and metrics.
type ResponseClass struct {
	Condition *ResponseMatch `json:"condition"`
	IsFailure bool           `json:"isFailure,omitempty"`
}

// ResponseMatch is a response condition.
type ResponseMatch struct {
	All    []ResponseMatch `json:"all,omitempty"`
	Any    []ResponseMatch `json:"any,omitempty"`
	Not    *ResponseMatch  `json:"not,omitempty"`
	Status *Range          `json:"status,omitempty"`
}

// Range is an inclusive range of HTTP status codes.
type Range struct {
	Min uint32 `json:"min,omitempty"`
	Max uint32 `json:"max,omitempty"`
}

// RetryBudget limits retries to a fraction of the original requests.
type RetryBudget struct {
	RetryRatio          float32 `json:"retryRatio"`
	MinRetriesPerSecond uint32  `json:"minRetriesPerSecond"`
	TTL                 string  `json:"ttl"`
}

// WeightedDst is a traffic-split destination of a ServiceProfile.
type WeightedDst struct {
	Authority string            `json:"authority"`
	Weight    resource.Quantity `json:"weight"`
}
