package kube

// Every label and annotation key trafficctl writes or reads on its own objects is declared here,
// in the one domain Domain (the Canary apiVersion is trafficctl.dev/v1alpha1 too). Keys of other
// projects' APIs (linkerd.io, gateway API) stay with the code that speaks those APIs.
//
// Releases up to v0.1 wrote two keys under trafficctl.io. For one release they are still read
// (Get, Has) and removed when the new key is written (Set, Delete); only the new keys are ever
// written.
const (
	// Domain is the DNS domain of every trafficctl label, annotation and API group.
	Domain = "trafficctl.dev"

	// LabelCanaryApex marks trafficctl's canary ConfigMaps with their apex Service (and annotates
	// the canary Events).
	LabelCanaryApex = Domain + "/canary-apex"
	// LabelCanarySpec marks the ConfigMaps (value "true") whose Canary spec the controller runs.
	LabelCanarySpec = Domain + "/canary-spec"
	// AnnotationLoadThresholds carries a load scenario's thresholds (JSON) on its Job from
	// `load job` to `load collect`.
	AnnotationLoadThresholds = Domain + "/load-thresholds"
	// AnnotationSplitHeader names, on an HTTPRoute, the header its A/B rules match.
	AnnotationSplitHeader = "split." + Domain + "/header"
	// ReportingController is the reportingController of the Events the canary engine emits.
	ReportingController = Domain + "/canary"

	// LabelManagedBy is the well-known label naming the tool managing an object; trafficctl
	// sets it to ManagedBy on the objects it creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelName is the well-known application name label.
	LabelName = "app.kubernetes.io/name"
	// LabelInstance is the well-known application instance label.
	LabelInstance = "app.kubernetes.io/instance"
	// ManagedBy is trafficctl's value of LabelManagedBy.
	ManagedBy = FieldManager
)

// legacyKeys maps each key that had another spelling in earlier releases to that spelling.
var legacyKeys = map[string]string{
	AnnotationLoadThresholds: "trafficctl.io/load-thresholds",
	AnnotationSplitHeader:    "split.trafficctl.io/header",
}

// LegacyKey returns key's spelling in earlier releases, or "" if it had none.
func LegacyKey(key string) string { return legacyKeys[key] }

// Get returns the value of key in m (labels or annotations), falling back to key's legacy
// spelling, and whether either was present.
func Get(m map[string]string, key string) (string, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	if old := legacyKeys[key]; old != "" {
		v, ok := m[old]
		return v, ok
	}
	return "", false
}

// Value is Get without the presence flag.
func Value(m map[string]string, key string) string {
	v, _ := Get(m, key)
	return v
}

// Set writes value under key, removes key's legacy spelling, and returns m (allocated if nil).
func Set(m map[string]string, key, value string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[key] = value
	if old := legacyKeys[key]; old != "" {
		delete(m, old)
	}
	return m
}

// Delete removes key and its legacy spelling from m.
func Delete(m map[string]string, key string) {
	delete(m, key)
	if old := legacyKeys[key]; old != "" {
		delete(m, old)
	}
}
