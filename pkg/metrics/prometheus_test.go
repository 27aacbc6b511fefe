package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeProm answers /api/v1/query with a fixed status and body.
func fakeProm(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/api/v1/query") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func vector(vals ...string) string {
	var items []string
	for _, v := range vals {
		items = append(items, fmt.Sprintf(`{"metric":{},"value":[1700000000,%q]}`, v))
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(items, ",") + `]}}`
}

func TestPrometheusQueryOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    float64
		wantErr error
	}{
		{name: "value", status: 200, body: vector("42.5"), want: 42.5},
		{name: "zero is a value", status: 200, body: vector("0"), want: 0},
		{name: "scalar", status: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"7"]}}`, want: 7},
		{name: "empty result", status: 200, body: vector(), wantErr: ErrNoData},
		{name: "NaN", status: 200, body: vector("NaN"), wantErr: ErrNoData},
		{name: "two series", status: 200, body: vector("1", "2"), wantErr: ErrBadQuery},
		{name: "server error", status: 503, body: "overloaded", wantErr: ErrBackendDown},
		{name: "bad gateway", status: 502, body: "", wantErr: ErrBackendDown},
		{name: "not found", status: 404, body: "nope", wantErr: ErrBackendDown},
		{name: "bad query", status: 400, body: `{"status":"error","errorType":"bad_data","error":"parse error"}`, wantErr: ErrBadQuery},
		{name: "garbage", status: 200, body: `<html>`, wantErr: ErrBackendDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPrometheus(fakeProm(t, tt.status, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Query(context.Background(), "up", time.Time{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				for _, other := range []error{ErrNoData, ErrBackendDown, ErrBadQuery} {
					if other != tt.wantErr && errors.Is(err, other) {
						t.Fatalf("err %v also matches %v: outcomes must be distinct", err, other)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestPrometheusUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here any more
	p, err := NewPrometheus("http://"+addr, WithQueryTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(context.Background()); !errors.Is(err, ErrBackendDown) {
		t.Fatalf("Check = %v, want ErrBackendDown", err)
	}
	if _, err := p.Query(context.Background(), "up", time.Time{}); !errors.Is(err, ErrBackendDown) || errors.Is(err, ErrNoData) {
		t.Fatalf("Query = %v, want only ErrBackendDown", err)
	}
}

func TestCheckHealthy(t *testing.T) {
	p, err := NewPrometheus(fakeProm(t, 200, vector("1")))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestQueries(t *testing.T) {
	tg := Target{Namespace: "emojivoto", Deployment: "web-v2"}
	tests := []struct {
		name, got, want string
	}{
		{"requests", RequestsQuery(tg),
			`sum(response_total{namespace="emojivoto",deployment="web-v2",direction="inbound"})`},
		{"failures", FailuresQuery(tg),
			`sum(response_total{namespace="emojivoto",deployment="web-v2",direction="inbound",classification="failure"}) or on() (0 * sum(response_total{namespace="emojivoto",deployment="web-v2",direction="inbound"}))`},
		{"window rounds up", Window(1500 * time.Millisecond), "2s"},
		{"latency", LatencyQuery(tg, 0.99, time.Minute),
			`histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="emojivoto",deployment="web-v2",direction="inbound"}[60s])) by (le))`},
		{"custom", Expand(`sum(rate(x{ns="{{namespace}}",d="{{deployment}}"}[{{window}}]))`, tg, 10*time.Second),
			`sum(rate(x{ns="emojivoto",d="web-v2"}[10s]))`},
		{"tiny window", Window(0), "1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", tt.got, tt.want)
			}
		})
	}
}

// TestPrometheusEndlessAnswer: an answer that never ends (or is just huge) fails the query as
// backend down once it passes the response limit, instead of filling memory.
func TestPrometheusEndlessAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[`)
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	p, err := NewPrometheus(srv.URL, WithQueryTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Query(context.Background(), "up", time.Time{})
	if !errors.Is(err, ErrBackendDown) || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Fatalf("err = %v, want backend down: larger than 32 MiB", err)
	}
}
