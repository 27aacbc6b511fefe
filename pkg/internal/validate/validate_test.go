package validate

import (
	"math"
	"strings"
	"testing"
)

// TestChecks: each check accepts what is within its bounds and names the bound otherwise; NaN
// and ±Inf never pass.
func TestChecks(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string // "" means no error
	}{
		{"finite", Finite(1.5), ""},
		{"NaN", Finite(math.NaN()), "finite"},
		{"+Inf", Finite(math.Inf(1)), "finite"},
		{"-Inf", Finite(math.Inf(-1)), "finite"},
		{"between", Between(5, 0, 10), ""},
		{"between edge", Between(10, 0, 10), ""},
		{"between above", Between(11, 0, 10), "within 0..10"},
		{"between NaN", Between(math.NaN(), 0, 10), "finite"},
		{"open", Open(0.5, 0, 1), ""},
		{"open edge", Open(1, 0, 1), "strictly between 0 and 1"},
		{"open Inf", Open(math.Inf(1), 0, 1), "finite"},
		{"at most", AtMost(1e9, 1e9), ""},
		{"at most above", AtMost(1e12, 1e9), "at most 1e+09"},
		{"int", IntBetween(5, 1, 10), ""},
		{"int above", IntBetween(math.MaxInt64, 1, 1e9), "within 1..1000000000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.want == "" && tc.err != nil:
				t.Fatalf("unexpected error %v", tc.err)
			case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", tc.err, tc.want)
			}
		})
	}
}
