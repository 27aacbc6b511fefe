package load

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRateBounds(t *testing.T) {
	tests := []struct {
		in, want string // want: "" for a valid rate, else a substring of the error
	}{
		{"200/s", ""},
		{"1000000", ""},
		{"60000000/1m", ""},
		{"1000001", "rate must be within 0..1e+06, got 1.000001e+06 (requests per second)"},
		{"2000000000/s", "must be within 0..1e+06"},
		{"9223372036854775807/1ns", "must be within 0..1e+06"},
		{"1/0s", "must be positive"},
		{"-5", "must be positive"},
		{"NaN", "use requests per period"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseRate(tt.in)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !errors.Is(err, ErrBadRate) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
