package smi

import (
	"errors"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func quantities(t *testing.T, ss ...string) []*resource.Quantity {
	t.Helper()
	out := make([]*resource.Quantity, len(ss))
	for i, s := range ss {
		if s == "" {
			continue
		}
		q := resource.MustParse(s)
		out[i] = &q
	}
	return out
}

func TestIntWeights(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []int64
	}{
		{"integers stay", []string{"90", "10"}, []int64{90, 10}},
		{"milli quantities", []string{"500m", "1500m"}, []int64{500, 1500}},
		{"mixed scales", []string{"1", "250m"}, []int64{1000, 250}},
		{"thousandths", []string{"333m", "667m"}, []int64{333, 667}},
		{"zero kept", []string{"0", "100"}, []int64{0, 100}},
		{"all zero", []string{"0", "0"}, []int64{0, 0}},
		{"nil counts as zero", []string{"", "5"}, []int64{0, 5}},
		{"suffix k", []string{"1k", "1"}, []int64{1000, 1}},
		{"nano", []string{"1n", "2n"}, []int64{1, 2}},
		{"single", []string{"7"}, []int64{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IntWeights(quantities(t, tt.in...))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("IntWeights(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIntWeightsErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []string
	}{
		{"negative", []string{"-1", "2"}},
		{"too large after scaling", []string{"1n", "100E"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := IntWeights(quantities(t, tt.in...)); !errors.Is(err, ErrWeight) {
				t.Errorf("IntWeights(%v) error = %v, want ErrWeight", tt.in, err)
			}
		})
	}
}

func TestQuantitiesRoundTrip(t *testing.T) {
	ws := []int64{90, 10, 0}
	qs, err := Quantities(ws)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range qs {
		if q.String() != []string{"90", "10", "0"}[i] {
			t.Errorf("quantity %d = %s", i, q.String())
		}
	}
	back, err := IntWeights(qs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, ws) {
		t.Errorf("round trip = %v, want %v", back, ws)
	}
	if _, err := Quantities([]int64{-1}); !errors.Is(err, ErrWeight) {
		t.Errorf("negative weight: error = %v, want ErrWeight", err)
	}
}

func TestRescale(t *testing.T) {
	tests := []struct {
		name  string
		in    []int64
		total int64
		want  []int64
	}{
		{"thirds keep the total", []int64{1, 1, 1}, 100, []int64{34, 33, 33}},
		{"exact", []int64{9, 1}, 100, []int64{90, 10}},
		{"zero stays zero", []int64{0, 1, 2}, 100, []int64{0, 33, 67}},
		{"largest remainder wins", []int64{1, 2, 3, 4, 5, 6}, 100, []int64{5, 9, 14, 19, 24, 29}},
		{"all zero", []int64{0, 0}, 100, []int64{0, 0}},
		{"huge weights", []int64{1 << 62, 1 << 62}, 1_000_000, []int64{500_000, 500_000}},
		{"tiny share rounds up to keep total", []int64{1, 999_999}, 100, []int64{0, 100}},
		{"empty", nil, 100, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rescale(tt.in, tt.total)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Rescale(%v, %d) = %v, want %v", tt.in, tt.total, got, tt.want)
			}
		})
	}
}

// FuzzRescale checks the invariant the table relies on: the shares add up to the total and
// never go negative or exceed it.
func FuzzRescale(f *testing.F) {
	f.Add(int64(1), int64(1), int64(1), int64(100))
	f.Add(int64(0), int64(0), int64(5), int64(7))
	f.Add(int64(1<<40), int64(3), int64(0), int64(1_000_000))
	f.Fuzz(func(t *testing.T, a, b, c, total int64) {
		if a < 0 || b < 0 || c < 0 || total <= 0 || total > 1<<40 || a+b+c <= 0 || a+b+c < a {
			t.Skip()
		}
		got := Rescale([]int64{a, b, c}, total)
		sum := int64(0)
		for i, g := range got {
			if g < 0 || g > total {
				t.Fatalf("share %d = %d out of range", i, g)
			}
			if []int64{a, b, c}[i] == 0 && g != 0 {
				t.Fatalf("zero weight got share %d", g)
			}
			sum += g
		}
		if sum != total {
			t.Fatalf("Rescale(%d,%d,%d; %d) = %v sums to %d", a, b, c, total, got, sum)
		}
	})
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr bool
	}{
		{"v1alpha1", V1alpha1, false},
		{"v1alpha2", V1alpha2, false},
		{"v1alpha3", "", true},
		{"v1alpha4", "", true},
		{"v1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVersion(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseVersion(%q) = %q, %v", tt.in, got, err)
			}
			if tt.wantErr && !errors.Is(err, ErrUnsupportedVersion) {
				t.Errorf("error %v does not match ErrUnsupportedVersion", err)
			}
		})
	}
}

func TestConversions(t *testing.T) {
	ts := New(V1alpha1, "web", "web-split", "web-svc", []Backend{{"web-v1", 90}, {"web-v2", 10}})
	ts.Labels = map[string]string{"team": "a"}
	a1, err := ts.V1alpha1()
	if err != nil {
		t.Fatal(err)
	}
	if a1.Spec.Backends[0].Weight.String() != "90" || a1.Labels["team"] != "a" || a1.Kind != Kind {
		t.Errorf("v1alpha1 = %+v", a1)
	}
	back, err := FromV1alpha1(a1)
	if err != nil {
		t.Fatal(err)
	}
	if back.Backends[0].Weight != 90 || back.Backends[1].Weight != 10 {
		t.Errorf("from v1alpha1 = %+v, want 90 and 10", back.Backends)
	}
	a2, err := ts.V1alpha2()
	if err != nil {
		t.Fatal(err)
	}
	if a2.Spec.Backends[1].Weight != 10 || a2.APIVersion != "split.smi-spec.io/v1alpha2" {
		t.Errorf("v1alpha2 = %+v", a2)
	}
	back2, err := FromV1alpha2(a2)
	if err != nil || back2.Backends[1].Weight != 10 {
		t.Errorf("from v1alpha2 = %+v, %v", back2, err)
	}
}
