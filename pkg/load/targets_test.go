package load

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"one", "GET http://127.0.0.1:8080/", 1, ""},
		{"headers and comments", "# list\nGET http://h/api/list\nX-A: 1\n# c\nX-A: 2\n\nPOST http://h/api/vote\n", 2, ""},
		{"back to back", "GET http://h/a\nGET http://h/b\n", 2, ""},
		{"empty", "\n# only comments\n", 0, "no targets found"},
		{"header before target", "X-A: 1\n", 0, "line 1: \"X-A: 1\": expected \"METHOD URL\""},
		{"bad header names line", "GET http://h/\n\n\nGET http://h/b\nnocolon\n", 0, "line 5: bad header"},
		{"relative URL", "GET /path\n", 0, "line 1: URL \"/path\": scheme must be http or https"},
		{"unparsable URL", "GET http://h/%zz\n", 0, "line 1: bad URL"},
		{"bad scheme", "GET ftp://h/\n", 0, "line 1: URL \"ftp://h/\": scheme must be http or https"},
		{"missing body file", "POST http://h/\n@/nonexistent/body\n", 0, "line 2: read body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTargets(strings.NewReader(tt.in), ".", nil, http.Header{"X-Default": {"d"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrBadTarget) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d targets, want %d", len(got), tt.want)
			}
			if got[0].Header.Get("X-Default") != "d" {
				t.Errorf("default header not applied: %v", got[0].Header)
			}
		})
	}
}

func TestWeightedOrder(t *testing.T) {
	ts, err := NewTargetSet([]Target{
		{Target: targetURL("http://h/list"), Weight: 60},
		{Target: targetURL("http://h/vote"), Weight: 30},
		{Target: targetURL("http://h/leaderboard"), Weight: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 3)
	for seq := range uint64(10) {
		counts[ts.pick(seq)]++
	}
	if counts[0] != 6 || counts[1] != 3 || counts[2] != 1 {
		t.Errorf("ten hits went %v, want [6 3 1]", counts)
	}
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{
		"GET http://127.0.0.1:8080/\n",
		"POST http://h/vote\nContent-Type: application/json\n\nGET http://h/list\n",
		"# c\nGET http://h/\nX: y\n@body.json\n",
		"X: y\n", "GET\n", "GET  http://[::1]:80/\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in string) {
		tgts, err := ParseTargets(strings.NewReader(in), dir, nil, nil)
		if err != nil {
			if !errors.Is(err, ErrBadTarget) {
				t.Fatalf("error %v does not wrap ErrBadTarget", err)
			}
			return
		}
		if _, err := NewTargetSet(tgts); err != nil {
			t.Fatalf("parsed targets rejected by NewTargetSet: %v", err)
		}
	})
}

// TestTargetHeadersChecked: a header from -H or a targets file that net/http would refuse (CR or
// LF in a value, a bad name) is rejected before any transport, the raw-connection one included,
// can write it.
func TestTargetHeadersChecked(t *testing.T) {
	tests := []struct {
		name, in string
		hdr      http.Header
		want     string
	}{
		{"CRLF in -H value", "GET http://h/\n", http.Header{"X-A": {"1\r\nGET /admin HTTP/1.1"}}, "invalid value"},
		{"LF in -H value", "GET http://h/\n", http.Header{"X-A": {"1\nX-B: 2"}}, "invalid value"},
		{"NUL in -H value", "GET http://h/\n", http.Header{"X-A": {"1\x00"}}, "invalid value"},
		{"space in -H name", "GET http://h/\n", http.Header{"X A": {"1"}}, "invalid header name"},
		{"CR in a file header", "GET http://h/\nX-A: 1\rGET /admin HTTP/1.1\n", nil, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgts, err := ParseTargets(strings.NewReader(tt.in), ".", nil, tt.hdr)
			if err == nil {
				_, err = NewTargetSet(tgts)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadTarget) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// endlessTargets is a targets file that never ends.
type endlessTargets struct{}

func (e *endlessTargets) Read(p []byte) (int, error) {
	line := "GET http://h/\n"
	n := 0
	for n+len(line) <= len(p) {
		n += copy(p[n:], line)
	}
	return n, nil
}

func TestParseTargetsLimits(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		want string
	}{
		{"endless targets", &endlessTargets{}, "more than 100000 targets"},
		{"endless comments", strings.NewReader(strings.Repeat("# comment\n", 7<<20)), "the targets is larger than 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTargets(tt.r, ".", nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
