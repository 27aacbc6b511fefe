package load

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// startGRPC serves the standard health service with server reflection on loopback.
func startGRPC(t *testing.T) string {
	t.Helper()
	return serveHealth(t, true)
}

// serveHealth serves the standard health service on loopback, with or without reflection.
func serveHealth(t *testing.T, withReflection bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("emojivoto.v1.EmojiService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	if withReflection {
		reflection.Register(s)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func TestGRPCUnaryTargets(t *testing.T) {
	addr := startGRPC(t)
	tests := []struct {
		name      string
		body      string
		wantCodes map[string]int
		wantErr   string
	}{
		{"serving service", `{"service": "emojivoto.v1.EmojiService"}`, map[string]int{"200": 20}, ""},
		{"unknown service is NOT_FOUND", `{"service": "nope"}`, map[string]int{"404": 20}, ""},
		{"bad JSON request", `{"servce": 1}`, nil, "is not a valid grpc.health.v1.HealthCheckRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := NewTargetSet([]Target{{Target: vegeta.Target{URL: "grpc://" + addr + "/grpc.health.v1.Health/Check", Body: []byte(tt.body)}}})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := NewAttacker(Connections(2)).Run(context.Background(), ts, vegeta.Rate{Freq: 100, Per: time.Second}, 200*time.Millisecond, RunOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for code, n := range tt.wantCodes {
				if rep.StatusCodes[code] < n-1 {
					t.Errorf("status codes %v, want ~%d of %s", rep.StatusCodes, n, code)
				}
			}
		})
	}
}

func TestGRPCTargetErrors(t *testing.T) {
	addr := startGRPC(t)
	tests := []struct{ url, want string }{
		{"grpc://127.0.0.1/grpc.health.v1.Health/Check", "needs host:port"},
		{"grpc://" + addr + "/Check", "needs /package.Service/Method"},
		{"grpc://" + addr + "/grpc.health.v1.Health/Nope", "has no method Nope"},
		{"grpc://" + addr + "/grpc.health.v1.Health/Watch", "streams: only unary methods"},
		{"grpc://" + addr + "/no.Such/Method", "server reflection for no.Such"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			ts, err := NewTargetSet([]Target{{Target: vegeta.Target{URL: tt.url}}})
			if err == nil {
				err = ts.Prepare(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

const (
	healthProto = "testdata/proto/grpc/health/v1/health.proto"
	probeProto  = "testdata/proto/api/probe.proto"
	protoRoot   = "testdata/proto"
)

// A server without reflection is attacked with the method's types from .proto files.
func TestGRPCWithProtosNoReflection(t *testing.T) {
	addr := serveHealth(t, false)
	url := "grpc://" + addr + "/grpc.health.v1.Health/Check"
	body := []byte(`{"service": "emojivoto.v1.EmojiService"}`)

	// Without protos, reflection is asked and the error says what to do.
	ts, err := NewTargetSet([]Target{{Target: vegeta.Target{URL: url, Body: body}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Prepare(context.Background()); err == nil || !strings.Contains(err.Error(), "give its .proto files with --proto") {
		t.Fatalf("reflection against a server without it: err = %v", err)
	}

	tests := []struct {
		name        string
		files, dirs []string
	}{
		{"the file alone, its directory as import path", []string{healthProto}, nil},
		{"an importing file with -I", []string{probeProto}, []string{protoRoot}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := CompileProtos(context.Background(), tt.files, tt.dirs)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := NewTargetSet([]Target{{Target: vegeta.Target{URL: url, Body: body}}}, WithProtos(p))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := NewAttacker(Connections(2)).Run(context.Background(), ts, vegeta.Rate{Freq: 100, Per: time.Second}, 200*time.Millisecond, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.StatusCodes["200"] < 19 || rep.Success != 1 {
				t.Errorf("status codes %v, want ~20 of 200", rep.StatusCodes)
			}
		})
	}
}

func TestCompileProtosErrors(t *testing.T) {
	tests := []struct {
		name        string
		files, dirs []string
		want        string
	}{
		{"missing file", []string{"testdata/proto/nope.proto"}, nil, "testdata/proto/nope.proto: no such file or directory"},
		{"a directory", []string{protoRoot}, nil, "testdata/proto is not a regular file"},
		{"import not found without -I", []string{probeProto}, nil, "add the directory of the file or of its imports with -I"},
		{"import path missing", []string{probeProto}, []string{"testdata/nodir"}, "import path testdata/nodir is not a directory"},
		{"syntax error names line and column", []string{"testdata/proto/api/broken.proto"}, nil, "broken.proto:7:1: syntax error"},
		{"no file", nil, nil, "no .proto file given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileProtos(context.Background(), tt.files, tt.dirs)
			if !errors.Is(err, ErrBadProto) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadProto and %q", err, tt.want)
			}
		})
	}
}

func TestProtosMethod(t *testing.T) {
	p, err := CompileProtos(context.Background(), []string{probeProto}, []string{protoRoot})
	if err != nil {
		t.Fatal(err)
	}
	found := "services found: grpc.health.v1.Health (Check, Watch); trafficctl.test.v1.Probe (Ping)"
	tests := []struct {
		method, wantErr string
	}{
		{"/trafficctl.test.v1.Probe/Ping", ""},
		{"/grpc.health.v1.Health/Check", ""},
		{"/grpc.health.v1.Health/Nope", "method /grpc.health.v1.Health/Nope is not in " + probeProto + ": " + found},
		{"/no.Such/Method", "method /no.Such/Method is not in " + probeProto + ": " + found},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			md, err := p.Method(tt.method)
			if tt.wantErr == "" {
				if err != nil || "/"+string(md.Parent().FullName())+"/"+string(md.Name()) != tt.method {
					t.Errorf("method %v, err %v", md, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v\nwant  %s", err, tt.wantErr)
			}
		})
	}
	health, err := CompileProtos(context.Background(), []string{healthProto}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, url, body, want string }{
		{"streaming", "/grpc.health.v1.Health/Watch", "", "streams: only unary methods"},
		{"bad request", "/grpc.health.v1.Health/Check", `{"servce": 1}`, "is not a valid grpc.health.v1.HealthCheckRequest"},
		{"not in the protos", "/grpc.health.v1.Health/Chek", "", "services found: grpc.health.v1.Health (Check, Watch)"},
	} {
		t.Run("target "+tt.name, func(t *testing.T) {
			_, err := NewTargetSet([]Target{{Target: vegeta.Target{URL: "grpc://127.0.0.1:1" + tt.url, Body: []byte(tt.body)}}}, WithProtos(health))
			if !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadTarget and %q", err, tt.want)
			}
		})
	}
}

// FuzzCompileProtos feeds arbitrary .proto sources: the compile errors out cleanly (wrapping
// ErrBadProto) or yields files whose every method is found by Method.
func FuzzCompileProtos(f *testing.F) {
	for _, path := range []string{healthProto, probeProto, "testdata/proto/api/broken.proto"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("syntax = \"proto3\"; package a; service S { rpc M(M) returns (M); } message M {}")
	f.Add("syntax = \"proto2\"; import \"nope.proto\";")
	f.Add("")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		path := filepath.Join(dir, "fuzz.proto")
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := CompileProtos(context.Background(), []string{path}, []string{dir, protoRoot})
		if err != nil {
			if !errors.Is(err, ErrBadProto) {
				t.Fatalf("error %v does not wrap ErrBadProto", err)
			}
			return
		}
		for _, fd := range p.files {
			for i := range fd.Services().Len() {
				sd := fd.Services().Get(i)
				for j := range sd.Methods().Len() {
					m := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
					if _, err := p.Method(m); err != nil {
						t.Fatalf("compiled method %s not found: %v", m, err)
					}
				}
			}
		}
	})
}
