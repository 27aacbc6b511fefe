package job

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/load"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestGoldenJob(t *testing.T) {
	objs, err := Render(Options{
		Name: "loadtest-demo", Namespace: "emojivoto", Image: DefaultImage, Replicas: 3,
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
	golden(t, "job.yaml", b.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update if the change is intended):\n%s", name, path, got)
	}
}
