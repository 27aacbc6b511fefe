package job

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
	"github.com/trafficctl/trafficctl/pkg/load"
)

func TestGoldenJob(t *testing.T) {
	objs, err := Render(Options{
		Name: "loadtest-demo", Namespace: "emojivoto", Image: ImageRepository + ":v0.1.0", Replicas: 3,
		Scenario: []byte(demoScenario), Thresholds: load.Thresholds{P99: 100 * time.Millisecond, MinSuccess: 99.9},
	})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	golden.Assert(t, "testdata/job.yaml.golden", b.Bytes())
}

// TestRenderRefusesWhatTheServerWould: inputs the API server would refuse are refused before
// anything is applied, each with a clear error.
func TestRenderRefusesWhatTheServerWould(t *testing.T) {
	ok := Options{Name: "l", Namespace: "ns", Image: ImageRepository + ":v0.1.0", Replicas: 1, Scenario: []byte(demoScenario)}
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   error
	}{
		{"a scenario at the ConfigMap limit fits", func(o *Options) { o.Scenario = bytes.Repeat([]byte("#"), MaxScenarioBytes) }, nil},
		{"a scenario past the ConfigMap limit", func(o *Options) { o.Scenario = bytes.Repeat([]byte("#"), MaxScenarioBytes+1) }, ErrScenarioTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.change(&o)
			_, err := Render(o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Render: %v, want %v", err, tc.want)
			}
		})
	}
}
