package tracing

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name, in string
		sampled  bool
		wantErr  bool
	}{
		{"sampled", valid, true, false},
		{"not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", false, false},
		{"surrounding spaces", "  " + valid + " ", true, false},
		{"future version, extra field", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", true, false},
		{"future version, no extra field", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", true, false},
		{"version 00 with extra field", valid + "-x", false, true},
		{"future version glued extra", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false, true},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, true},
		{"upper case", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false, true},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, true},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, true},
		{"short", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", false, true},
		{"wrong separator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, true},
		{"not hex", "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01", false, true},
		{"empty", "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Parse(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) = %v, %v; want an ErrInvalid", tc.in, sc, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if sc.Sampled() != tc.sampled {
				t.Errorf("sampled = %v, want %v", sc.Sampled(), tc.sampled)
			}
			if got := sc.String(); got[3:52] != strings.TrimSpace(tc.in)[3:52] || !strings.HasPrefix(got, "00-") {
				t.Errorf("String() = %q, want the ids of %q as version 00", got, tc.in)
			}
		})
	}
}

// FuzzParse: Parse never panics, and what it accepts prints back as a version-00 header that
// parses to the same context (and equals the input when the input was version 00).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"", "00", "00-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := Parse(s)
		if err != nil {
			return
		}
		if !sc.Valid() {
			t.Fatalf("Parse(%q) accepted invalid ids", s)
		}
		again, err := Parse(sc.String())
		if err != nil || again != sc {
			t.Fatalf("Parse(%q).String() = %q does not parse back: %v, %v", s, sc.String(), again, err)
		}
		if in := strings.TrimSpace(s); strings.HasPrefix(in, "00-") && sc.String() != in {
			t.Fatalf("version 00 %q printed as %q", in, sc.String())
		}
	})
}
