package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The raw HTTP/1.1 path is the hot path for fixed connection counts to one plain-HTTP host:
// each connection is owned by one request at a time, the request bytes are serialised once
// per target, and the response is parsed in place and discarded. net/http spends two extra
// goroutine hand-offs per request (its read and write loops); on loopback that halves the
// rate a 2-core machine can generate. Anything else (TLS, proxies, several hosts, a growing
// pool) goes through net/http.

// rawHTTP is the Transport of the raw path: a fixed set of rawConns, each owned by one hit at
// a time.
type rawHTTP struct {
	free chan *rawConn
	all  []*rawConn
}

func newRawHTTP(addr string, conns int, dialer *net.Dialer, timeout time.Duration) *rawHTTP {
	p := &rawHTTP{free: make(chan *rawConn, conns)}
	for range conns {
		rc := &rawConn{addr: addr, dialer: dialer, timeout: timeout}
		p.all = append(p.all, rc)
		p.free <- rc
	}
	return p
}

// Hit implements Transport.
func (p *rawHTTP) Hit(ctx context.Context, tgt *Target, h *Hit) bool {
	var rc *rawConn
	select {
	case rc = <-p.free:
	default:
		select {
		case rc = <-p.free:
		case <-ctx.Done():
			return false
		}
	}
	h.Timestamp = time.Now()
	resp, err := rc.do(ctx, tgt.raw)
	h.Latency = time.Since(h.Timestamp)
	p.free <- rc
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		h.Error = err.Error()
		return true
	}
	h.Code = uint16(resp.code)
	h.Error = resp.status
	h.BytesIn = uint64(resp.bytes)
	h.BytesOut = uint64(len(tgt.Body))
	return true
}

// Close implements Transport.
func (p *rawHTTP) Close() {
	for _, rc := range p.all {
		rc.close()
	}
}

var errMalformedResponse = errors.New("malformed HTTP response")

// rawRequest is a target serialised for the wire.
type rawRequest struct {
	wire []byte
	head bool
}

func newRawRequest(req *http.Request, body []byte) rawRequest {
	var b bytes.Buffer
	b.WriteString(req.Method)
	b.WriteByte(' ')
	b.WriteString(req.URL.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	b.WriteString(host)
	b.WriteString("\r\n")
	if req.Header.Get("User-Agent") == "" {
		b.WriteString("User-Agent: Go-http-client/1.1\r\n")
	}
	for k, vs := range req.Header {
		if strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") {
			continue
		}
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	if len(body) > 0 || req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch {
		b.WriteString("Content-Length: ")
		b.WriteString(strconv.Itoa(len(body)))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return rawRequest{wire: b.Bytes(), head: req.Method == http.MethodHead}
}

// rawConn is one keep-alive connection, redialled when the server closes it.
type rawConn struct {
	addr    string
	dialer  *net.Dialer
	timeout time.Duration
	c       net.Conn
	br      *bufio.Reader
	uses    int
}

// rawResponse is what a hit keeps of a response.
type rawResponse struct {
	code   int
	status string // only for failures: "500 Internal Server Error"
	bytes  int64
}

func (rc *rawConn) close() {
	if rc.c != nil {
		_ = rc.c.Close()
		rc.c = nil
	}
}

func (rc *rawConn) dial(ctx context.Context) error {
	c, err := rc.dialer.DialContext(ctx, "tcp", rc.addr)
	if err != nil {
		return err
	}
	rc.c = c
	rc.uses = 0
	if rc.br == nil {
		rc.br = bufio.NewReaderSize(c, 16*1024)
	} else {
		rc.br.Reset(c)
	}
	return nil
}

// do sends req and reads the response, redialling once when a reused connection turns out
// to have been closed by the server before answering (as net/http retries idempotent requests).
func (rc *rawConn) do(ctx context.Context, req rawRequest) (rawResponse, error) {
	for attempt := 0; ; attempt++ {
		fresh := rc.c == nil
		if fresh {
			if err := rc.dial(ctx); err != nil {
				return rawResponse{}, err
			}
		}
		stop := context.AfterFunc(ctx, func() { _ = rc.c.SetDeadline(time.Unix(1, 0)) })
		resp, started, err := rc.roundTrip(req)
		stop()
		if err == nil {
			rc.uses++
			return resp, nil
		}
		rc.close()
		if ctx.Err() != nil {
			return rawResponse{}, ctx.Err()
		}
		if fresh || started || attempt > 0 {
			return rawResponse{}, err
		}
	}
}

// roundTrip writes req and reads one response; started tells whether any response byte came.
func (rc *rawConn) roundTrip(req rawRequest) (resp rawResponse, started bool, err error) {
	if rc.timeout > 0 {
		_ = rc.c.SetDeadline(time.Now().Add(rc.timeout))
	}
	if _, err = rc.c.Write(req.wire); err != nil {
		return resp, false, err
	}
	var keep bool
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return resp, len(line) > 0, err
		}
		started = true
		resp.bytes = 0
		code, reason, http11, ok := parseStatusLine(line)
		if !ok {
			return resp, true, fmt.Errorf("%w: status line %q", errMalformedResponse, clip(string(line)))
		}
		resp.code = code
		length, chunked, closeConn, err := rc.readHeaders()
		if err != nil {
			return resp, true, err
		}
		if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
			continue // interim response: the real one follows
		}
		if code < 200 || code >= 400 {
			resp.status = strconv.Itoa(code) + " " + reason
		}
		keep = http11 && !closeConn
		switch {
		case req.head || code == http.StatusNoContent || code == http.StatusNotModified:
		case chunked:
			resp.bytes, err = rc.discardChunked()
		case length >= 0:
			var n int
			n, err = rc.br.Discard(int(length))
			resp.bytes = int64(n)
		default:
			// No length: the body runs to the end of the connection.
			resp.bytes, err = io.Copy(io.Discard, rc.br)
			keep = false
		}
		if err != nil {
			return resp, true, err
		}
		break
	}
	if !keep {
		rc.close()
	}
	return resp, true, nil
}

func parseStatusLine(line []byte) (code int, reason string, http11, ok bool) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, "", false, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, "", false, false
		}
		code = code*10 + int(c-'0')
	}
	if len(line) > 13 {
		reason = string(line[13:])
	}
	return code, reason, line[7] == '1', true
}

func (rc *rawConn) readHeaders() (length int64, chunked, closeConn bool, err error) {
	length = -1
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, false, false, fmt.Errorf("%w: header line over 16 KiB", errMalformedResponse)
			}
			return 0, false, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return length, chunked, closeConn, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return 0, false, false, fmt.Errorf("%w: header %q", errMalformedResponse, clip(string(line)))
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, perr := strconv.ParseInt(string(value), 10, 64)
			if perr != nil || n < 0 {
				return 0, false, false, fmt.Errorf("%w: Content-Length %q", errMalformedResponse, value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closeConn = bytes.EqualFold(value, []byte("close"))
		}
	}
}

func (rc *rawConn) discardChunked() (int64, error) {
	var total int64
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return total, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return total, fmt.Errorf("%w: chunk size %q", errMalformedResponse, clip(string(line)))
		}
		if size == 0 {
			// Trailers, then the blank line.
			for {
				l, err := rc.br.ReadSlice('\n')
				if err != nil {
					return total, err
				}
				if len(bytes.TrimRight(l, "\r\n")) == 0 {
					return total, nil
				}
			}
		}
		n, err := rc.br.Discard(int(size))
		total += int64(n)
		if err != nil {
			return total, err
		}
		if _, err := rc.br.Discard(2); err != nil {
			return total, err
		}
	}
}
