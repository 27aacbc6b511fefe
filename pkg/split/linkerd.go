package split

import "github.com/trafficctl/trafficctl/pkg/kube"

// LinkerdRouter splits traffic with Linkerd's own HTTPRoutes (policy.linkerd.io), for clusters
// that do not install the Gateway API CRDs. Linkerd publishes no Go module for them, so the
// objects are handled as unstructured; their schema matches the Gateway API's for every field
// trafficctl touches.
type LinkerdRouter struct {
	*httpRoutes
}

// NewLinkerdRouter returns a router writing policy.linkerd.io/version HTTPRoutes.
func NewLinkerdRouter(c *kube.Clients, version string) *LinkerdRouter {
	return &LinkerdRouter{newHTTPRoutes(KindLinkerd, c, kube.GroupLinkerdPolicy, version)}
}
