package job

import (
	"bytes"
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
