// Package doctor checks a cluster for what breaks Linkerd's move to Gateway API: the Linkerd
// and Gateway API versions and whether they fit, who owns the Gateway API CRDs, the deprecated
// linkerd-smi, ServiceProfiles that silently override HTTPRoutes, and canary controllers that
// steer the same Service. Each finding names the command that fixes it.
package doctor

import (
	"strconv"
	"strings"
)

// Release is what one Linkerd release expects of the Gateway API, kept as data with its sources.
type Release struct {
	Linkerd string `json:"linkerd"`
	// FirstEdge is the first edge release of the line ("" when unknown here).
	FirstEdge string `json:"firstEdge,omitempty"`
	// InstallsGatewayAPI says whether installing Linkerd's CRDs installs the Gateway API CRDs.
	InstallsGatewayAPI bool `json:"installsGatewayAPI"`
	// MaxGatewayAPI is the newest Gateway API bundle the release supports.
	MaxGatewayAPI string `json:"maxGatewayAPI"`
	// ReadsFieldsUpTo is the Gateway API version whose fields Linkerd reads; newer ones are ignored.
	ReadsFieldsUpTo string   `json:"readsFieldsUpTo"`
	Sources         []string `json:"sources"`
}

// Compatibility is the table doctor judges by, oldest release first.
var Compatibility = []Release{
	{
		Linkerd: "2.18", InstallsGatewayAPI: true, MaxGatewayAPI: "1.2.1", ReadsFieldsUpTo: "1.2.1",
		Sources: []string{
			"Linkerd 2.18 release notes: the last release whose linkerd-crds installs the Gateway API CRDs by default",
			"linkerd2 edge-25.9.4 release notes: Gateway API CRDs dropped from linkerd-crds",
			"linkerd.io/2-edge/features/gateway-api: Linkerd ignores fields newer than Gateway API 1.2.1",
		},
	},
	{
		Linkerd: "2.19", FirstEdge: "edge-25.9.4", InstallsGatewayAPI: false, MaxGatewayAPI: "1.2.1", ReadsFieldsUpTo: "1.2.1",
		Sources: []string{
			"linkerd2 edge-25.9.4 release notes: Gateway API CRDs dropped from linkerd-crds (install them yourself)",
			"linkerd.io/2-edge/features/gateway-api: Linkerd ignores fields newer than Gateway API 1.2.1",
		},
	},
	{
		Linkerd: "2.20", FirstEdge: "edge-26.6.1", InstallsGatewayAPI: false, MaxGatewayAPI: "1.5.1", ReadsFieldsUpTo: "1.2.1",
		Sources: []string{
			"Linkerd 2.20 release notes (edge-26.6.x): Gateway API supported up to 1.5.1",
			"linkerd.io/2-edge/features/gateway-api: Linkerd ignores fields newer than Gateway API 1.2.1",
			"linkerd2#14846, #13032: Gateway API version skew breaks the control plane",
		},
	},
}

// release finds the table's entry for a Linkerd version ("stable-2.18.2", "enterprise-2.19.1",
// "edge-25.10.2", "2.20.0"); false when the version is older than the table or unreadable.
func release(version string) (Release, bool) {
	v := strings.TrimPrefix(version, "v")
	if e, ok := strings.CutPrefix(v, "edge-"); ok {
		best := -1
		for i, r := range Compatibility {
			if r.FirstEdge != "" && compareVersions(e, strings.TrimPrefix(r.FirstEdge, "edge-")) >= 0 {
				best = i
			}
		}
		if best < 0 {
			return Compatibility[0], compareVersions(e, "25.4.0") >= 0
		}
		return Compatibility[best], true
	}
	for _, p := range []string{"stable-", "enterprise-"} {
		v = strings.TrimPrefix(v, p)
	}
	for _, r := range Compatibility {
		if v == r.Linkerd || strings.HasPrefix(v, r.Linkerd+".") {
			return r, true
		}
	}
	if compareVersions(v, Compatibility[len(Compatibility)-1].Linkerd) > 0 {
		return Compatibility[len(Compatibility)-1], true
	}
	return Release{}, false
}

// compareVersions compares dotted numeric versions ("1.2.1" < "1.10"); a leading "v" is ignored.
func compareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(strings.SplitN(pa[i], "-", 2)[0])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(strings.SplitN(pb[i], "-", 2)[0])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
