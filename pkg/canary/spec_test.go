package canary

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimal = `apiVersion: trafficctl.dev/v1alpha1
kind: Canary
metadata:
  name: web
spec:
  apex: web-svc
  stable: {service: web-v1, deployment: web-v1}
  canary: {service: web-v2, deployment: web-v2}
  prometheus: http://127.0.0.1:9090
`

func TestParseExample(t *testing.T) {
	c, err := ParseFile("testdata/web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Steps(); !reflect.DeepEqual(got, []int{5, 10, 25, 50, 100}) {
		t.Errorf("steps = %v", got)
	}
	if c.Spec.Interval != 10*time.Second || c.Spec.Deadline != 15*time.Minute || !c.Gate(50) || c.Gate(25) {
		t.Errorf("spec = %+v", c.Spec)
	}
	if len(c.Spec.Metrics) != 3 || c.Spec.Metrics[1].Quantile != 0.99 {
		t.Errorf("metrics = %+v", c.Spec.Metrics)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Spec
	if !reflect.DeepEqual(c.Steps(), DefaultSteps) || s.Interval != DefaultInterval || s.MinRequests != DefaultMinRequests ||
		s.Deadline != DefaultDeadline || s.OnNoData != ActionHold || s.OnBackendDown != ActionHold || s.Router != "auto" {
		t.Fatalf("defaults not applied: %+v", s)
	}
	if len(s.Metrics) != 1 || s.Metrics[0].Type != MetricSuccessRate || *s.Metrics[0].Min != 99 {
		t.Fatalf("default metric = %+v", s.Metrics)
	}
}

func TestStepWeight(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []int
	}{
		{"even", "  stepWeight: 25\n", []int{25, 50, 75, 100}},
		{"clamped", "  stepWeight: 30\n  maxWeight: 100\n", []int{30, 60, 90, 100}},
		{"one step", "  stepWeight: 100\n", []int{100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(minimal + tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Steps(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("steps = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error
	}{
		{"not ending at 100", minimal + "  steps: [5, 10, 50]\n", "line 10: spec.steps: must end at 100"},
		{"decreasing", minimal + "  steps: [5, 50, 25, 100]\n", "spec.steps[2]: weights must increase"},
		{"over 100", minimal + "  steps: [5, 150]\n", "spec.steps[1]"},
		{"max weight", minimal + "  stepWeight: 10\n  maxWeight: 50\n", "line 11: spec.maxWeight: must be 100"},
		{"both forms", minimal + "  steps: [100]\n  stepWeight: 10\n", "either steps or stepWeight"},
		{"unknown field", minimal + "  stpes: [5, 100]\n", "line 10: field stpes not found"},
		{"wrong type", minimal + "  minRequests: lots\n", "line 10: cannot unmarshal !!str `lots`"},
		{"bad duration", minimal + "  interval: soon\n", "line 10: cannot unmarshal !!str `soon` into time.Duration"},
		{"short interval", minimal + "  interval: 10ms\n", "spec.interval: must be at least 1s"},
		{"promote on no data", minimal + "  onNoData: promote\n", "line 10: spec.onNoData: must be hold or rollback (never promote)"},
		{"gate not a step", minimal + "  gates: [30]\n", "spec.gates[0]: gate 30 is not one of the steps"},
		{"same services", strings.Replace(minimal, "service: web-v2", "service: web-v1", 1), "spec.canary.service: must differ"},
		{"apex is a backend", strings.Replace(minimal, "apex: web-svc", "apex: web-v1", 1), "line 6: spec.apex: must differ"},
		{"missing prometheus", strings.Replace(minimal, "  prometheus: http://127.0.0.1:9090\n", "", 1), "spec.prometheus: required"},
		{"bad apiVersion", strings.Replace(minimal, "v1alpha1", "v1", 1), "line 1: apiVersion: must be trafficctl.dev/v1alpha1"},
		{"bad kind", strings.Replace(minimal, "kind: Canary", "kind: Rollout", 1), "line 2: kind: must be Canary"},
		{"success rate without min", minimal + "  metrics:\n  - name: sr\n    type: success-rate\n", "spec.metrics[0].min"},
		{"latency without bound", minimal + "  metrics:\n  - name: l\n    type: latency\n", "line 11: spec.metrics[0]: latency needs max"},
		{"custom without query", minimal + "  metrics:\n  - name: c\n    type: custom\n    max: 1\n", "spec.metrics[0].query"},
		{"unknown metric type", minimal + "  metrics:\n  - name: c\n    type: apdex\n", "line 12: spec.metrics[0].type"},
		{"duplicate metric", minimal + "  metrics:\n  - {name: a, type: latency, max: 1}\n  - {name: a, type: latency, max: 2}\n", "duplicate metric name"},
		{"two documents", minimal + "---\n" + minimal, "more than one document"},
		{"not yaml", "{", "did not find expected node content"},
		{"empty", "", "EOF"},
		{"success rate NaN", minimal + "  metrics:\n  - {name: sr, type: success-rate, min: .nan}\n", "spec.metrics[0].min: success-rate min is a percentage: must be a finite number, got NaN"},
		{"success rate Inf", minimal + "  metrics:\n  - {name: sr, type: success-rate, min: -.inf}\n", "must be a finite number, got -Inf"},
		{"latency max Inf", minimal + "  metrics:\n  - {name: l, type: latency, max: .inf}\n", "spec.metrics[0].max: must be a finite number, got +Inf"},
		{"latency max NaN", minimal + "  metrics:\n  - {name: l, type: latency, max: .nan}\n", "spec.metrics[0].max: must be a finite number"},
		{"latency ratio NaN", minimal + "  metrics:\n  - {name: l, type: latency, maxRatio: .nan}\n", "spec.metrics[0].maxRatio: must be a finite number"},
		{"latency ratio Inf", minimal + "  metrics:\n  - {name: l, type: latency, maxRatio: .inf}\n", "spec.metrics[0].maxRatio: must be a finite number"},
		{"latency ratio huge", minimal + "  metrics:\n  - {name: l, type: latency, maxRatio: 1e9}\n", "spec.metrics[0].maxRatio: must be within 1..1000"},
		{"quantile NaN", minimal + "  metrics:\n  - {name: l, type: latency, max: 1, quantile: .nan}\n", "spec.metrics[0].quantile: must be a finite number"},
		{"custom min NaN", minimal + "  metrics:\n  - {name: c, type: custom, query: up, min: .nan}\n", "spec.metrics[0].min: must be a finite number"},
		{"custom max Inf", minimal + "  metrics:\n  - {name: c, type: custom, query: up, max: .inf}\n", "spec.metrics[0].max: must be a finite number"},
		{"minRequests near 2^63", minimal + "  minRequests: 9223372036854775000\n", "spec.minRequests: must be within 1..1000000000"},
		{"minRequests negative", minimal + "  minRequests: -5\n", "spec.minRequests: must be within 1..1000000000"},
		{"bad name", strings.Replace(minimal, "name: web", "name: Web_1", 1), "metadata.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("parsed, want an error")
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestHashStable(t *testing.T) {
	a, _ := Parse([]byte(minimal))
	b, _ := Parse([]byte(minimal + "  # a comment changes nothing\n"))
	c, _ := Parse([]byte(minimal + "  steps: [10, 100]\n"))
	if a.Hash() != b.Hash() {
		t.Error("same spec, different hash")
	}
	if a.Hash() == c.Hash() {
		t.Error("different steps, same hash")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "  steps: [5, 10, 50]\n"))
	f.Add([]byte(minimal + "  stepWeight: 7\n  gates: [14]\n"))
	f.Add([]byte(minimal + "  metrics:\n  - {name: a, type: latency, max: 1, maxRatio: 2}\n"))
	f.Add([]byte("spec: {steps: [[1]]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("error %v does not wrap ErrInvalidSpec", err)
			}
			return
		}
		steps := c.Steps()
		if len(steps) == 0 || steps[len(steps)-1] != 100 {
			t.Fatalf("accepted spec with steps %v", steps)
		}
		for _, a := range []Action{c.Spec.OnNoData, c.Spec.OnBackendDown} {
			if a != ActionHold && a != ActionRollback {
				t.Fatalf("accepted action %q", a)
			}
		}
	})
}
