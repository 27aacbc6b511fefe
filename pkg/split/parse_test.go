package split

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseBackends(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []Backend
		wantErr string
	}{
		{name: "two versions", args: []string{"web-v1=90", "web-v2=10"}, want: []Backend{{"web-v1", 90}, {"web-v2", 10}}},
		{name: "zero kept", args: []string{"web-v1=0", "web-v2=100"}, want: []Backend{{"web-v1", 0}, {"web-v2", 100}}},
		{name: "leading zeros", args: []string{"web-v1=010"}, want: []Backend{{"web-v1", 10}}},
		{name: "max weight", args: []string{"a=1000000"}, want: []Backend{{"a", 1000000}}},
		{name: "not a number", args: []string{"web-v1=90", "web-v2=abc"}, wantErr: `weight "abc" of web-v2 is not a whole number`},
		{name: "fraction", args: []string{"web-v2=1.5"}, wantErr: "not a whole number"},
		{name: "plus sign", args: []string{"web-v2=+5"}, wantErr: "not a whole number"},
		{name: "empty weight", args: []string{"web-v2="}, wantErr: "not a whole number"},
		{name: "negative", args: []string{"web-v1=-1", "web-v2=2"}, wantErr: "negative"},
		{name: "all zero", args: []string{"web-v1=0", "web-v2=0"}, wantErr: "all weights are 0"},
		{name: "too large", args: []string{"web-v1=1000001"}, wantErr: "above the limit"},
		{name: "overflow", args: []string{"web-v1=99999999999999999999"}, wantErr: "not a whole number"},
		{name: "duplicate", args: []string{"a=1", "a=2"}, wantErr: "given twice"},
		{name: "no equals", args: []string{"web-v1"}, wantErr: "not SERVICE=WEIGHT"},
		{name: "bad name", args: []string{"Web_V1=1"}, wantErr: "not a Service name"},
		{name: "empty name", args: []string{"=1"}, wantErr: "not a Service name"},
		{name: "none", args: nil, wantErr: "no backends given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBackends(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseBackends(%q) error = %v, want ErrInvalid containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseBackends(%q) = %v, want %v", tt.args, got, tt.want)
			}
		})
	}
}

// FuzzParseBackends checks that whatever the user types, the parser either returns backends
// that pass ValidateWeights and print back to the same weights, or an ErrInvalid error.
func FuzzParseBackends(f *testing.F) {
	for _, seed := range []string{"web-v1=90 web-v2=10", "a=0 b=0", "web-v2=abc", "x=-1", "a=1 a=2", "=", "a=1000001", "a=0x10", "ü=1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		got, err := ParseBackends(args)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseBackends(%q) error %v is not ErrInvalid", args, err)
			}
			return
		}
		if err := ValidateWeights(got); err != nil {
			t.Fatalf("ParseBackends(%q) = %v fails ValidateWeights: %v", args, got, err)
		}
		again, err := ParseBackends(strings.Fields(FormatBackends(got)))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("round trip of %v: %v, %v", got, again, err)
		}
	})
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in      string
		want    HeaderMatch
		wantErr bool
	}{
		{in: "x-canary=true", want: HeaderMatch{"x-canary", "true"}},
		{in: "X-Canary=a=b", want: HeaderMatch{"x-canary", "a=b"}},
		{in: "x-canary", wantErr: true},
		{in: "=true", wantErr: true},
		{in: "x-canary=", wantErr: true},
		{in: "x canary=1", wantErr: true},
		{in: "x-canary=a\nb", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHeader(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseHeader(%q) = %v, %v", tt.in, got, err)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, seed := range []string{"x-canary=true", "a=b=c", "=", "x y=z", "x=\r"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeader(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if h.Name == "" || h.Value == "" || strings.ContainsAny(h.Value, "\r\n") {
			t.Fatalf("ParseHeader(%q) = %+v", s, h)
		}
	})
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := ParseKind("istio"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseKind(istio) error = %v", err)
	}
}
