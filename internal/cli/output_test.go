package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"
)

// printObject prints plain values (not Kubernetes objects) as their own JSON encoding: YAML as
// sigs.k8s.io/yaml does, JSON as kubectl indents it, and jsonpath on the JSON fields.
func TestPrintObject(t *testing.T) {
	v := struct {
		Name  string   `json:"name"`
		Steps []int    `json:"steps"`
		Note  string   `json:"note,omitempty"`
		HTML  string   `json:"html"`
		Tags  []string `json:"tags"`
	}{Name: "web", Steps: []int{5, 100}, HTML: "<b>&</b>"}
	wantYAML, _ := yaml.Marshal(v)
	compact, _ := json.Marshal(v)
	var wantJSON bytes.Buffer
	_ = json.Indent(&wantJSON, compact, "", "    ")
	wantJSON.WriteByte('\n')
	for format, want := range map[string]string{
		outputYAML:                    string(wantYAML),
		outputJSON:                    wantJSON.String(),
		"jsonpath={.steps[*]}":        "5 100",
		"jsonpath={.name} {.missing}": "web ",
	} {
		var out bytes.Buffer
		if err := printObject(&out, format, v); err != nil || out.String() != want {
			t.Errorf("-o %s: %v\n%s\nwant\n%s", format, err, out.String(), want)
		}
	}
	if err := validateOutput("jsonpath={.x", outputText, outputJSON); exitCode(err) != ExitUsage {
		t.Errorf("bad template: %v (exit %d), want exit %d", err, exitCode(err), ExitUsage)
	}
	if err := validateOutput("jsonpath={.x}", outputText, outputYAML); exitCode(err) != ExitUsage {
		t.Errorf("jsonpath without json: %v, want a usage error", err)
	}
}
