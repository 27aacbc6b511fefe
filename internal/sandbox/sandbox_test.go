package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
	"github.com/trafficctl/trafficctl/internal/testing/testenv"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/split"
	"github.com/trafficctl/trafficctl/pkg/topology"
)

// options returns Up options for a temporary state directory, skipping (or failing in CI)
// when a real part is missing.
func options(t *testing.T) Options {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real sandbox: skipped with -short")
	}
	if _, err := localk8s.CachedBinaries(); err != nil {
		testenv.Missing(t, "%v; build them with `make testbins`", err)
	}
	prom, err := localk8s.PrometheusBinary()
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	crds, err := localk8s.FindCRDs(context.Background(), root)
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Cleanup(func() {
		if Running(dir) {
			t.Errorf("processes left running in %s", dir)
			_, _ = Down(dir)
		}
	})
	return Options{Dir: dir, Executable: exe, PrometheusBin: prom, CRDs: crds, Replicas: 2, Log: testLog{t}}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// pids lists the recorded PIDs of every process of the sandbox.
func pids(t *testing.T, dir string) []int {
	var out []int
	for _, g := range []string{appDir, promDir, k8sDir} {
		files, _ := filepath.Glob(filepath.Join(dir, g, "*.pid"))
		for _, f := range files {
			out = append(out, localk8s.PIDOf(filepath.Dir(f), strings.TrimSuffix(filepath.Base(f), ".pid")))
		}
	}
	return out
}

func versionOf(t *testing.T, web string) string {
	t.Helper()
	code, version := voteAs(t, web)
	if code != http.StatusOK {
		t.Fatalf("vote through the data plane: %d %s", code, http.StatusText(code))
	}
	return version
}

// TestUpStatusDown brings the whole sandbox up, drives every part through trafficctl's writes
// and Prometheus, crashes a component and brings it down again, one phase at a time.
func TestUpStatusDown(t *testing.T) {
	o := options(t)
	ctx := context.Background()
	st, err := Up(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	checkFreshStatus(t, ctx, o, st)
	c := steerToV2(t, ctx, st)
	waitForPrometheus(t, st)
	pc, err := promapi.NewClient(promapi.Config{Address: st.Prometheus})
	if err != nil {
		t.Fatal(err)
	}
	checkTopology(t, ctx, st, pc)
	checkGRPCFailure(t, ctx, st, pc)
	checkProfileOverride(t, ctx, st, c)
	crashAndRestart(t, ctx, o)
	checkDown(t, o)
}

func checkFreshStatus(t *testing.T, ctx context.Context, o Options, st *State) {
	t.Helper()
	_, ss, err := Status(ctx, o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if ok, line := Summary(ss); !ok || len(ss) != 10 {
		t.Fatalf("status: %s (%d components): %+v", line, len(ss), ss)
	}
	for _, s := range ss {
		if s.PID == 0 || s.Addr == "" || !strings.HasPrefix(s.Addr, "127.0.0.1:") {
			t.Errorf("%s: pid %d addr %q, want a PID and a loopback address", s.Name, s.PID, s.Addr)
		}
	}
	if v := versionOf(t, st.Web); v != "v1" {
		t.Errorf("before any split: answered by %q, want v1", v)
	}
}

// steerToV2 checks that trafficctl's writes steer the data plane: all traffic to web-v2.
func steerToV2(t *testing.T, ctx context.Context, st *State) *kube.Clients {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kube.NewClientsForConfig(cfg, Namespace, true, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := split.New(ctx, c, split.KindAuto, Namespace, Apex, split.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetWeights(ctx, Namespace, Apex, []split.Backend{{Service: "web-v1", Weight: 0}, {Service: "web-v2", Weight: 100}}, split.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for versionOf(t, st.Web) != "v2" {
		if time.Now().After(deadline) {
			t.Fatal("data plane did not follow the split to web-v2 within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for range 10 {
		if v := versionOf(t, st.Web); v != "v2" {
			t.Fatalf("after web-v2=100: answered by %s", v)
		}
	}
	return c
}

// waitForPrometheus waits until Prometheus has scraped the Linkerd-named metrics.
func waitForPrometheus(t *testing.T, st *State) {
	t.Helper()
	q := url.Values{"query": {`sum(response_total{namespace="emojivoto",deployment="web-v2",direction="inbound",classification="success"})`}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(st.Prometheus + "/api/v1/query?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `"value"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has no web-v2 response_total after 15s: %s", body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// grpcEdges are web-v2's calls to emoji and voting, nil where missing.
func grpcEdges(g *topology.Graph) (emoji, voting *topology.Edge) {
	return edge(g, "web-v2", "emoji"), edge(g, "web-v2", "voting")
}

// checkTopology checks that `trafficctl topology` draws the sandbox: the data plane's client
// reaches web-v2, and web's gRPC calls go through the data plane too.
func checkTopology(t *testing.T, ctx context.Context, st *State, pc promapi.Client) {
	t.Helper()
	var g *topology.Graph
	var err error
	// Rates need traffic across two scrapes: keep some flowing while waiting.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		for range 5 {
			versionOf(t, st.Web)
		}
		g, err = topology.Build(ctx, promv1.NewAPI(pc), Namespace, time.Minute, time.Now())
		if err == nil {
			if e, v := grpcEdges(g); e != nil && v != nil && edge(g, "vote-bot", "web-v2") != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("topology of the sandbox: %v", err)
	}
	if e := edge(g, "vote-bot", "web-v2"); e == nil || e.RPS <= 0 || !e.MTLS {
		t.Errorf("topology edges %+v, want traffic to web-v2", g.Edges)
	}
	for _, e := range []*topology.Edge{edge(g, "web-v2", "emoji"), edge(g, "web-v2", "voting")} {
		if e == nil || e.RPS <= 0 || e.SuccessRate != 1 || e.Authority == "" {
			t.Fatalf("topology edges %+v, want web-v2 -> emoji and web-v2 -> voting at 100%% success", g.Edges)
		}
	}
}

// checkGRPCFailure injects a gRPC failure in voting: web answers 500, the data plane sees HTTP
// 200 with grpc-status 13 and, as Linkerd, counts a failure on the web-v2 -> voting edge only.
func checkGRPCFailure(t *testing.T, ctx context.Context, st *State, pc promapi.Client) {
	t.Helper()
	if _, err := SetBehaviour(ctx, st, "voting", -1, demoapp.Behaviour{FailureRate: 1}); err != nil {
		t.Fatal(err)
	}
	var g *topology.Graph
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		for range 5 {
			if code := vote(t, st.Web); code != http.StatusInternalServerError {
				t.Fatalf("vote with voting failing: %d, want 500", code)
			}
		}
		g, err = topology.Build(ctx, promv1.NewAPI(pc), Namespace, time.Minute, time.Now())
		if err == nil {
			if _, v := grpcEdges(g); v != nil && v.SuccessRate < 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failures on web-v2 -> voting 20s after voting failed every call: %v %+v", err, g)
		}
	}
	if e, _ := grpcEdges(g); e == nil || e.SuccessRate != 1 {
		t.Errorf("web-v2 -> emoji %+v, want 100%% success while only voting fails", e)
	}
	failed := promQuery(t, st.Prometheus, `sum(response_total{namespace="emojivoto",direction="outbound",deployment="web-v2",dst_deployment="voting",status_code="200",grpc_status="13",classification="failure"})`)
	inbound := promQuery(t, st.Prometheus, `sum(response_total{namespace="emojivoto",direction="inbound",deployment="voting",grpc_status="13",classification="failure"})`)
	if failed <= 0 || inbound <= 0 {
		t.Errorf("gRPC failures in Prometheus: outbound %v, inbound %v, want both > 0", failed, inbound)
	}
	if _, err := SetBehaviour(ctx, st, "voting", -1, demoapp.Behaviour{}); err != nil {
		t.Fatal(err)
	}
	if code := vote(t, st.Web); code != http.StatusOK {
		t.Fatalf("vote with voting healthy again: %d", code)
	}
}

// checkProfileOverride checks that a ServiceProfile with routes overrides HTTPRoutes (traffic
// back to the apex's default, web-v1) and that its route timeouts apply.
func checkProfileOverride(t *testing.T, ctx context.Context, st *State, c *kube.Clients) {
	t.Helper()
	sp := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "linkerd.io/v1alpha2", "kind": "ServiceProfile",
		"metadata": map[string]any{"name": "web-svc.emojivoto.svc.cluster.local", "namespace": Namespace},
		"spec": map[string]any{"routes": []any{map[string]any{"name": "GET /api/list",
			"condition": map[string]any{"method": "GET", "pathRegex": "/api/list"}, "timeout": "200ms"}}}}}
	if _, err := c.Dynamic.Resource(serviceProfiles).Namespace(Namespace).Create(ctx, sp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for versionOf(t, st.Web) != "v1" {
		if time.Now().After(deadline) {
			t.Fatal("data plane still follows the HTTPRoute 10s after a ServiceProfile with routes appeared")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := SetBehaviour(ctx, st, "web-v1", -1, demoapp.Behaviour{Delay: 400 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/api/list": http.StatusGatewayTimeout, "/api/leaderboard": http.StatusOK} {
		resp, err := http.Get(st.Web + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s with web-v1 400ms slow and a 200ms route timeout on /api/list: %s, want %d", path, resp.Status, want)
		}
	}

}

// crashAndRestart checks that a crashed component shows in status, and that a second up cleans
// up and starts afresh.
func crashAndRestart(t *testing.T, ctx context.Context, o Options) {
	t.Helper()
	dp := localk8s.PIDOf(filepath.Join(o.Dir, appDir), "dataplane")
	if err := syscall.Kill(dp, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, dp)
	if _, ss, _ := Status(ctx, o.Dir); func() bool { ok, _ := Summary(ss); return ok }() {
		t.Error("status healthy with the data plane killed")
	}
	old := pids(t, o.Dir)
	st, err := Up(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range old {
		if localk8s.Alive(p) && p != dp {
			t.Errorf("process %d of the first sandbox still runs after the second up", p)
		}
	}
	if v := versionOf(t, st.Web); v != "v1" {
		t.Errorf("fresh sandbox answered by %s, want v1", v)
	}
}

// checkDown checks that down stops every process and leaves no state.
func checkDown(t *testing.T, o Options) {
	t.Helper()
	running := pids(t, o.Dir)
	n, err := Down(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Errorf("down stopped %d processes, want 10", n)
	}
	for _, p := range running {
		if localk8s.Alive(p) {
			t.Errorf("process %d still runs after down", p)
		}
	}
	if _, err := Load(o.Dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("state after down: %v, want ErrNotRunning", err)
	}
}

// edge finds the topology edge between two workloads, nil when there is none.
func edge(g *topology.Graph, from, to string) *topology.Edge {
	for i, e := range g.Edges {
		if e.From.Workload == from && e.To.Workload == to {
			return &g.Edges[i]
		}
	}
	return nil
}

// vote sends one vote through the data plane and returns the HTTP status.
func vote(t *testing.T, web string) int {
	t.Helper()
	code, _ := voteAs(t, web)
	return code
}

// voteAs sends one vote through the data plane and returns the HTTP status and the version of
// web that answered.
func voteAs(t *testing.T, web string) (int, string) {
	t.Helper()
	resp, err := http.Get(web + "/api/vote?choice=:joy:")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Demo-Version")
}

// promQuery evaluates an instant query that returns at most one sample (0 without one).
func promQuery(t *testing.T, prom, query string) float64 {
	t.Helper()
	pc, err := promapi.NewClient(promapi.Config{Address: prom})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := promv1.NewAPI(pc).Query(context.Background(), query, time.Now())
	if err != nil {
		t.Fatalf("query %s: %v", query, err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) == 0 {
		return 0
	}
	return float64(vec[0].Value)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); localk8s.Alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not exit", pid)
		}
	}
}

func TestBadInputLeavesNothing(t *testing.T) {
	base := options(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   error
		msg    string
	}{
		{"port in use", func(o *Options) { o.WebPort = busy }, ErrBadInput, fmt.Sprintf("port %d on 127.0.0.1 is in use", busy)},
		{"missing prometheus", func(o *Options) { o.PrometheusBin = filepath.Join(o.Dir, "no-prometheus") }, ErrBadInput, "install Prometheus"},
		{"bad replicas", func(o *Options) { o.Replicas = 11 }, ErrBadInput, "use 1 to 10"},
		{"component dies at start", func(o *Options) { o.Executable = "/bin/false" }, ErrComponentDied, "emoji-svc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			o.Dir = t.TempDir()
			tc.change(&o)
			_, err := Up(context.Background(), o)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
			if Running(o.Dir) {
				t.Errorf("half-started sandbox left running in %s", o.Dir)
				_, _ = Down(o.Dir)
			}
		})
	}
}

func TestSetBehaviour(t *testing.T) {
	srv := &http.Server{Handler: demoapp.NewKnobs(demoapp.Behaviour{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	st := &State{Components: []Component{{Name: "web-v2-0", Kind: KindWeb, Addr: l.Addr().String()}}}
	names, err := SetBehaviour(context.Background(), st, "web-v2", -1, demoapp.Behaviour{FailureRate: 0.5})
	if err != nil || len(names) != 1 {
		t.Fatalf("set: %v %v", names, err)
	}
	if _, err := SetBehaviour(context.Background(), st, "web-v3", -1, demoapp.Behaviour{}); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "web-v2-0") {
		t.Errorf("unknown deployment: %v", err)
	}
	if _, err := SetBehaviour(context.Background(), st, "web-v2", -1, demoapp.Behaviour{FailureRate: 2}); !errors.Is(err, ErrBadInput) {
		t.Errorf("failure rate 2: %v", err)
	}
}
