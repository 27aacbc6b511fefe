package localk8s_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestEtcdAdmitsOnlyTheAPIServer checks that a local process cannot reach etcd past the API
// server: plain HTTP is not served, and TLS without the API server's client certificate is
// refused in the handshake. (The API server itself works through its certificate: every other
// integration test depends on it.)
func TestEtcdAdmitsOnlyTheAPIServer(t *testing.T) {
	env := testenv.Require(t)
	if !strings.HasPrefix(env.EtcdURL, "https://127.0.0.1:") {
		t.Fatalf("etcd URL %q: want https on 127.0.0.1", env.EtcdURL)
	}
	for _, tc := range []struct {
		name, url string
		tls       *tls.Config
	}{
		{"plain http", "http://" + strings.TrimPrefix(env.EtcdURL, "https://") + "/v3/kv/range", nil},
		{"tls without client certificate", env.EtcdURL + "/v3/kv/range", &tls.Config{InsecureSkipVerify: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.tls}}
			body := strings.NewReader(`{"key":"L3JlZ2lzdHJ5","range_end":"L3JlZ2lzdHJ6"}`) // /registry prefix
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, tc.url, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("etcd answered %s to a client without the API server's certificate", resp.Status)
			}
		})
	}
}
