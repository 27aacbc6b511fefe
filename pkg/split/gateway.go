package split

import "github.com/trafficctl/trafficctl/pkg/kube"

// GatewayRouter splits traffic with Gateway API HTTPRoutes (gateway.networking.k8s.io)
// attached to the apex Service, Linkerd's current way (2.14+). It writes only fields Linkerd
// reads (Gateway API 1.2.1 and older): parentRefs, matches and weighted backendRefs.
type GatewayRouter struct {
	*httpRoutes
}

// NewGatewayRouter returns a router writing gateway.networking.k8s.io/version HTTPRoutes.
func NewGatewayRouter(c *kube.Clients, version string) *GatewayRouter {
	return &GatewayRouter{newHTTPRoutes(KindGateway, c, kube.GroupGatewayAPI, version)}
}
