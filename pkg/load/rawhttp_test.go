package load

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// rawOnce sends one hit of target through the raw path and returns it.
func rawOnce(t *testing.T, tgt vegeta.Target, timeout time.Duration) *Hit {
	t.Helper()
	ts, err := NewTargetSet([]Target{{Target: tgt}})
	if err != nil {
		t.Fatal(err)
	}
	if ts.rawAddr == "" {
		t.Fatal("target does not take the raw path")
	}
	a := NewAttacker(Connections(1), Timeout(timeout))
	pool := a.newTransports(ts)
	defer pool.close()
	if _, ok := pool.byTarget[0].(*rawHTTP); !ok {
		t.Fatalf("transport %T, want the raw path", pool.byTarget[0])
	}
	var last *Hit
	for seq := range uint64(3) {
		last = a.hit(context.Background(), ts, pool, "t", tick{seq: seq, intended: time.Now()})
		if last.Error != "" && !strings.HasPrefix(last.Error, "5") {
			return last
		}
	}
	return last
}

func TestRawPathResponses(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		handler   http.HandlerFunc
		wantCode  uint16
		wantBytes uint64
		wantErr   string
	}{
		{"content length", "GET", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") }, 200, 5, ""},
		{"chunked", "GET", func(w http.ResponseWriter, r *http.Request) {
			for range 3 {
				_, _ = io.WriteString(w, strings.Repeat("x", 1000))
				w.(http.Flusher).Flush()
			}
		}, 200, 3000, ""},
		{"connection close", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		}, 200, 3, ""},
		{"server error keeps status text", "GET", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, 500, 5, "500 Internal Server Error"},
		{"head has no body", "HEAD", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Length", "100") }, 200, 0, ""},
		{"no content", "DELETE", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }, 204, 0, ""},
		{"post body arrives", "POST", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
		}, 200, 7, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			h := rawOnce(t, vegeta.Target{Method: tt.method, URL: srv.URL + "/x?y=1", Body: []byte(map[bool]string{true: "payload"}[tt.method == "POST"])}, time.Second)
			if h.Code != tt.wantCode || h.BytesIn != tt.wantBytes || h.Error != tt.wantErr {
				t.Errorf("code %d bytes %d error %q; want %d %d %q", h.Code, h.BytesIn, h.Error, tt.wantCode, tt.wantBytes, tt.wantErr)
			}
		})
	}
}

// rawServer answers every request on a connection with reply, then closes when closeAfter
// requests were served (0: never).
func rawServer(t *testing.T, reply string, closeAfter int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					_, _ = io.WriteString(c, reply)
					if closeAfter > 0 && n >= closeAfter {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

func TestRawPathEdgeCases(t *testing.T) {
	tests := []struct {
		name       string
		reply      string
		closeAfter int
		wantCode   uint16
		wantErr    string
	}{
		{"server closes idle connection: retried on a new one", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1, 200, ""},
		{"http/1.0 body to close", "HTTP/1.0 200 OK\r\n\r\nuntil close", 1, 200, ""},
		{"interim 100 continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 0, 201, ""},
		{"garbage status", "SMTP ready\r\n\r\n", 0, 0, "malformed HTTP response"},
		{"bad content length", "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n", 0, 0, "malformed HTTP response: Content-Length"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 0, "malformed HTTP response: chunk size"},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1, 0, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := rawServer(t, tt.reply, tt.closeAfter)
			h := rawOnce(t, vegeta.Target{Method: "GET", URL: u}, time.Second)
			if tt.wantErr != "" {
				if !strings.Contains(h.Error, tt.wantErr) {
					t.Errorf("error %q, want %q", h.Error, tt.wantErr)
				}
				return
			}
			if h.Code != tt.wantCode || h.Error != "" {
				t.Errorf("code %d error %q, want %d", h.Code, h.Error, tt.wantCode)
			}
		})
	}
}

func TestRawPathTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }))
	defer srv.Close()
	h := rawOnce(t, vegeta.Target{Method: "GET", URL: srv.URL}, 50*time.Millisecond)
	if !strings.Contains(h.Error, "timeout") {
		t.Errorf("error %q, want a timeout", h.Error)
	}
}

func FuzzRawResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.0 500 Oops\r\n\r\nbody",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		client, server := net.Pipe()
		go func() {
			_, _ = io.Copy(io.Discard, io.LimitReader(server, 1<<20))
		}()
		go func() {
			_, _ = io.WriteString(server, in)
			server.Close()
		}()
		rc := &rawConn{c: client, br: bufio.NewReader(client)}
		defer rc.close()
		_, _, _ = rc.roundTrip(rawRequest{wire: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")})
	})
}
