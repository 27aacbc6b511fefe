// Package limits reads untrusted input with a size limit: a file argument that is /dev/zero, a
// multi-gigabyte download or a backend's endless answer ends in a clear error instead of
// exhausting memory.
package limits

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
)

// Limits of the inputs trafficctl reads, in bytes.
const (
	// File is a spec, scenario, targets or contract file, or a download of one.
	File = 64 << 20
	// Report is a report or a vegeta results stream read by `load merge` and `load collect`.
	Report = 1 << 30
	// Response is one answer of a metrics backend.
	Response = 32 << 20
)

// ErrTooLarge is wrapped by the errors of reads past their limit.
var ErrTooLarge = errors.New("input too large")

// ReadAll reads r to its end, or fails with ErrTooLarge once it passes limit bytes. name says
// what was read ("spec.yaml", "the response of http://...").
func ReadAll(r io.Reader, limit int64, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %s, the limit", ErrTooLarge, name, Size(limit))
	}
	return data, nil
}

// ReadFile is os.ReadFile with a limit.
func ReadFile(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return ReadAll(fh, limit, path)
}

// Size formats n bytes for a message: "64 MiB".
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Transport wraps rt (http.DefaultTransport when nil) so that every response body fails with
// ErrTooLarge past limit bytes, for clients whose reading code is not ours.
func Transport(rt http.RoundTripper, limit int64) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return limitedTransport{rt: rt, limit: limit}
}

type limitedTransport struct {
	rt    http.RoundTripper
	limit int64
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{NewReader(resp.Body, t.limit, "the response of "+req.URL.Redacted()), resp.Body}
	return resp, nil
}

// NewReader returns a reader of r that fails with ErrTooLarge once r passes limit bytes, for
// input read piecemeal (a scanner).
func NewReader(r io.Reader, limit int64, name string) io.Reader {
	return &reader{r: r, left: limit, limit: limit, name: name}
}

type reader struct {
	r     io.Reader
	left  int64
	limit int64
	name  string
}

func (b *reader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more than allowed tells an input of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: %s is larger than %s, the limit", ErrTooLarge, b.name, Size(b.limit))
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
