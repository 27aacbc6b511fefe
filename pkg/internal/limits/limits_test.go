package limits

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestReadAll(t *testing.T) {
	dir := t.TempDir()
	small := dir + "/small"
	if err := os.WriteFile(small, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		read  func() ([]byte, error)
		want  string // "" means success
		wantN int
	}{
		{"under the limit", func() ([]byte, error) { return ReadAll(strings.NewReader("abc"), 5, "x") }, "", 3},
		{"at the limit", func() ([]byte, error) { return ReadAll(strings.NewReader("abcde"), 5, "x") }, "", 5},
		{"over the limit", func() ([]byte, error) { return ReadAll(strings.NewReader("abcdef"), 5, "x") }, "x is larger than 5 bytes, the limit", 0},
		{"endless", func() ([]byte, error) { return ReadAll(zeros{}, 1<<20, "stream") }, "stream is larger than 1 MiB, the limit", 0},
		{"file", func() ([]byte, error) { return ReadFile(small, 5) }, "", 5},
		{"file over", func() ([]byte, error) { return ReadFile(small, 4) }, "is larger than 4 bytes", 0},
		{"/dev/zero", func() ([]byte, error) { return ReadFile("/dev/zero", File) }, "/dev/zero is larger than 64 MiB, the limit", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.read()
			if tt.want == "" {
				if err != nil || len(b) != tt.wantN {
					t.Fatalf("got %d bytes, %v", len(b), err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		limit int64
		want  string
	}{{100, ""}, {1000, ""}, {99, "is larger than 99 bytes"}} {
		c := &http.Client{Transport: Transport(nil, tc.limit)}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case tc.want == "" && (err != nil || len(b) != 100):
			t.Errorf("limit %d: %d bytes, %v", tc.limit, len(b), err)
		case tc.want != "" && (!errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("limit %d: err = %v", tc.limit, err)
		}
	}
}
