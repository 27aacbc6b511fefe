package migrate

import "github.com/trafficctl/trafficctl/pkg/smi"

// splitsForTest is a TrafficSplit for the migration's Service, as read from a file.
func (m *Migration) splitsForTest() []*smi.TrafficSplit {
	ts := smi.New(smi.V1alpha2, m.Namespace, m.Service, m.Service, []smi.Backend{{Service: "a", Weight: 1}})
	return []*smi.TrafficSplit{ts}
}
