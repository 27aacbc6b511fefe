// Package sandbox runs the whole product on one machine, on 127.0.0.1 only: a real
// kube-apiserver and etcd with the upstream CRDs, a real Prometheus, the Emojivoto-compatible
// demo app (internal/sandbox/demoapp) in versions v1 and v2 with N replica processes each, and the
// data plane stand-in (internal/sandbox/proxy) that sends web-svc's traffic where the live split
// says, carries web's gRPC calls to emoji-svc and voting-svc, and exports Linkerd's metrics for
// both (so `trafficctl topology` draws vote-bot -> web -> emoji and voting). Every process is detached and recorded by a PID file in
// the state directory, so `down` (or the next `up`, after a crash) stops exactly them.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trafficctl/trafficctl/internal/localk8s"
	"github.com/trafficctl/trafficctl/internal/sandbox/proxy"
	"github.com/trafficctl/trafficctl/pkg/kube"
)

// Names in the sandbox's cluster, as in deploy/emojivoto.
const (
	Namespace = "emojivoto"
	Apex      = "web-svc"
)

// Subdirectories of the state directory, one per group of processes (localk8s.StopDir works
// on one directory's PID files).
const (
	k8sDir  = "k8s"
	appDir  = "app"
	promDir = "prometheus"
	stateFn = "state.json"
)

// DefaultDir is the state directory when none is given: ~/.cache/trafficctl/sandbox.
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory: %w (pass --dir)", err)
	}
	return filepath.Join(base, "trafficctl", "sandbox"), nil
}

// Options for Up.
type Options struct {
	// Dir is the state directory.
	Dir string
	// Executable is the trafficctl binary re-executed for the demo app and data plane
	// (os.Executable() by default).
	Executable string
	// PrometheusBin overrides localk8s.PrometheusBinary.
	PrometheusBin string
	// CRDs is the directory of the upstream CRDs (localk8s.FindCRDs by default).
	CRDs string
	// Replicas is the number of processes per web version (3 by default).
	Replicas int
	// WebPort is the 127.0.0.1 port of web-svc, the data plane's entry (0 picks a free one).
	WebPort int
	// Balance is the data plane's replica balancing.
	Balance proxy.Balance
	// OTLPEndpoint is the host:port of an OTLP/HTTP collector (for example an OpenTelemetry
	// collector or Jaeger on :4318) that the demo app sends its spans to; empty exports none.
	OTLPEndpoint string
	// Log receives progress lines.
	Log io.Writer
}

// DefaultReplicas is the number of processes per web version.
const DefaultReplicas = 3

// State is a running sandbox, saved as state.json in its directory.
type State struct {
	Dir        string      `json:"dir"`
	Kubeconfig string      `json:"kubeconfig"`
	APIServer  string      `json:"apiServer"`
	Prometheus string      `json:"prometheus"`
	Web        string      `json:"web"`
	Metrics    string      `json:"dataPlaneMetrics"`
	Namespace  string      `json:"namespace"`
	Started    time.Time   `json:"started"`
	Components []Component `json:"components"`
}

// Component is one process of the sandbox.
type Component struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Group is the state subdirectory holding its PID file.
	Group string `json:"group"`
	// Addr is its main listen address; Health is how it is checked (an http URL, or tcp://).
	Addr   string `json:"addr"`
	Health string `json:"health"`
	// Deployment is the demo app Deployment the process is a replica of, Admin the address of
	// its knobs (demoapp.AdminPath); both empty for the infrastructure.
	Deployment string `json:"deployment,omitempty"`
	Admin      string `json:"admin,omitempty"`
}

// Sentinel errors for the command layer.
var (
	// ErrBadInput: the user must change a flag (port in use, missing binary, bad value).
	ErrBadInput = errors.New("invalid sandbox input")
	// ErrNotRunning: no sandbox state in the directory.
	ErrNotRunning = errors.New("no sandbox running")
)

func (o *Options) defaults() error {
	if o.Dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return err
		}
		o.Dir = d
	}
	d, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", o.Dir, err)
	}
	o.Dir = d
	if o.Replicas == 0 {
		o.Replicas = DefaultReplicas
	}
	if o.Balance == "" {
		o.Balance = proxy.BalanceEWMA
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the trafficctl executable: %w", err)
		}
		o.Executable = exe
	}
	return nil
}

// validate checks everything the user can get wrong before anything starts.
func (o *Options) validate() error {
	if o.Replicas < 1 || o.Replicas > 10 {
		return fmt.Errorf("%w: --replicas %d: use 1 to 10", ErrBadInput, o.Replicas)
	}
	if o.WebPort < 0 || o.WebPort > 65535 {
		return fmt.Errorf("%w: --web-port %d: use 1 to 65535, or 0 for a free port", ErrBadInput, o.WebPort)
	}
	if o.PrometheusBin != "" {
		if fi, err := os.Stat(o.PrometheusBin); err != nil || fi.IsDir() {
			return fmt.Errorf("%w: --prometheus-bin %s is not a file: install Prometheus (apt-get install prometheus) or pass its path", ErrBadInput, o.PrometheusBin)
		}
	}
	return nil
}

// findParts finds Prometheus and the CRDs the user did not name, building Prometheus from the
// Go module proxy on a machine that has none (the first run says so and takes ~5 minutes).
func (o *Options) findParts(ctx context.Context) error {
	if o.PrometheusBin == "" {
		bin, err := localk8s.EnsurePrometheus(ctx, o.Log)
		if err != nil {
			return fmt.Errorf("%w: %w; or pass --prometheus-bin", ErrBadInput, err)
		}
		o.PrometheusBin = bin
	}
	if o.CRDs == "" {
		dir, err := localk8s.FindCRDs(ctx, repoRoot())
		if err != nil {
			return fmt.Errorf("%w: %w; or pass --crds DIR", ErrBadInput, err)
		}
		o.CRDs = dir
	}
	return nil
}

// Up starts a sandbox in o.Dir, first stopping whatever an earlier sandbox there left running.
// On any failure it stops everything it started.
func Up(ctx context.Context, o Options) (st *State, err error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := o.findParts(ctx); err != nil {
		return nil, err
	}
	if Running(o.Dir) {
		fmt.Fprintf(o.Log, "stopping the sandbox already running in %s\n", o.Dir)
	}
	if _, err := Down(o.Dir); err != nil && !errors.Is(err, ErrNotRunning) {
		return nil, err
	}
	// Checked after Down: the port may be our own earlier data plane's.
	if o.WebPort != 0 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.WebPort))
		if err != nil {
			return nil, fmt.Errorf("%w: port %d on 127.0.0.1 is in use by another program: pick another with --web-port, or 0 for a free one", ErrBadInput, o.WebPort)
		}
		l.Close()
	}
	defer func() {
		if err != nil {
			if _, derr := Down(o.Dir); derr != nil && !errors.Is(derr, ErrNotRunning) {
				err = errors.Join(err, fmt.Errorf("clean up: %w", derr))
			}
		}
	}()
	start := time.Now()
	bins, err := localk8s.EnsureBinaries(ctx, o.Log)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(o.Log, "starting etcd and kube-apiserver on 127.0.0.1...")
	cluster, err := localk8s.Start(ctx, localk8s.Options{Dir: filepath.Join(o.Dir, k8sDir), Binaries: bins, Lifetime: localk8s.Detached})
	if err != nil {
		return nil, err
	}
	st = &State{Dir: o.Dir, Kubeconfig: cluster.Kubeconfig, APIServer: cluster.Server, Namespace: Namespace, Started: time.Now().UTC()}
	st.Components = append(st.Components,
		Component{Name: "etcd", Kind: "etcd", Group: k8sDir},
		Component{Name: "kube-apiserver", Kind: "kube-apiserver", Group: k8sDir, Addr: strings.TrimPrefix(cluster.Server, "https://"), Health: cluster.Server + "/readyz"})
	c, err := kube.NewClientsForConfig(cluster.Config, Namespace, true, localk8s.ContextName)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "installing the upstream CRDs from %s...\n", o.CRDs)
	if err := localk8s.InstallCRDs(ctx, c, o.CRDs); err != nil {
		return nil, err
	}
	if err := createObjects(ctx, c, o.Replicas); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "starting the demo app (emoji, voting, web v1 and v2 x %d) and the data plane...\n", o.Replicas)
	if err := startApp(o, st); err != nil {
		return nil, err
	}
	fmt.Fprintln(o.Log, "starting Prometheus...")
	prom, err := localk8s.StartPrometheus(ctx, filepath.Join(o.Dir, promDir), localk8s.PromConfig{
		Targets: []string{st.Metrics}, Interval: time.Second, Lifetime: localk8s.Detached, Binary: o.PrometheusBin})
	if err != nil {
		return nil, err
	}
	st.Prometheus = prom.URL
	st.Components = append(st.Components, Component{Name: "prometheus", Kind: "prometheus", Group: promDir,
		Addr: strings.TrimPrefix(prom.URL, "http://"), Health: prom.URL + "/-/ready"})
	if err := st.save(); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "sandbox up in %s\n", time.Since(start).Round(100*time.Millisecond))
	return st, nil
}

func startApp(o Options, st *State) error {
	dir := filepath.Join(o.Dir, appDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	run := func(spec ComponentSpec, deployment string, extra []*os.File) ([]string, error) {
		spec.Dir = dir
		if spec.Listen == "" {
			spec.Listen = "127.0.0.1:0"
		}
		addrs, _, err := spawn(o.Executable, dir, spec, extra, 15*time.Second)
		if err != nil {
			return nil, err
		}
		c := Component{Name: spec.Name, Kind: spec.Kind, Group: appDir, Addr: addrs[0], Health: "grpc://" + addrs[0], Deployment: deployment}
		switch spec.Kind {
		case KindWeb:
			c.Health, c.Admin = "http://"+addrs[0]+"/healthz", addrs[0]
		case KindEmoji, KindVoting:
			c.Admin = addrs[1]
		case KindDataPlane:
			c.Health = "http://" + addrs[1] + "/metrics"
		}
		st.Components = append(st.Components, c)
		return addrs, nil
	}
	emoji, err := run(ComponentSpec{Name: "emoji-svc", Kind: KindEmoji, OTLPEndpoint: o.OTLPEndpoint}, "emoji", nil)
	if err != nil {
		return err
	}
	voting, err := run(ComponentSpec{Name: "voting-svc", Kind: KindVoting, OTLPEndpoint: o.OTLPEndpoint}, "voting", nil)
	if err != nil {
		return err
	}
	grpcUps := []proxy.Upstream{
		{Service: "emoji-svc", Deployment: "emoji", Replicas: emoji[:1], Pods: []string{"emoji-svc"}},
		{Service: "voting-svc", Deployment: "voting", Replicas: voting[:1], Pods: []string{"voting-svc"}},
	}
	// Web's gRPC calls go through the data plane: one hop per web version and Service, whose
	// listener is bound here and inherited by the data plane, started last.
	var hops []Hop
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	hopAddr := map[string]string{}
	for _, v := range []string{"v1", "v2"} {
		for _, up := range grpcUps {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("listen for web-%s's calls to %s: %w", v, up.Service, err)
			}
			f, err := l.(*net.TCPListener).File()
			l.Close() // f holds the socket open
			if err != nil {
				return fmt.Errorf("hand over the listener of web-%s's calls to %s: %w", v, up.Service, err)
			}
			files = append(files, f)
			hops = append(hops, Hop{Client: "web-" + v, Upstream: up, Port: 8080, FD: 2 + len(files), Addr: l.Addr().String()})
			hopAddr[v+"/"+up.Service] = l.Addr().String()
		}
	}
	var ups []proxy.Upstream
	for _, v := range []string{"v1", "v2"} {
		up := proxy.Upstream{Service: "web-" + v, Deployment: "web-" + v}
		for i := range o.Replicas {
			name := fmt.Sprintf("web-%s-%d", v, i)
			addrs, err := run(ComponentSpec{Name: name, Kind: KindWeb, Version: v, Emoji: hopAddr[v+"/emoji-svc"], Voting: hopAddr[v+"/voting-svc"],
				OTLPEndpoint: o.OTLPEndpoint}, up.Deployment, nil)
			if err != nil {
				return err
			}
			up.Replicas = append(up.Replicas, addrs[0])
			up.Pods = append(up.Pods, name)
		}
		ups = append(ups, up)
	}
	addrs, err := run(ComponentSpec{Name: "dataplane", Kind: KindDataPlane, Listen: fmt.Sprintf("127.0.0.1:%d", o.WebPort),
		MetricsListen: "127.0.0.1:0", Kubeconfig: st.Kubeconfig, Namespace: Namespace, Apex: Apex, Client: "vote-bot",
		Upstreams: ups, Balance: o.Balance, Hops: hops}, "", files)
	if err != nil {
		return err
	}
	st.Web, st.Metrics = "http://"+addrs[0], addrs[1]
	return nil
}

func (st *State) save() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(st.Dir, stateFn), b, 0o644); err != nil {
		return fmt.Errorf("save sandbox state: %w", err)
	}
	return nil
}

// Load reads the state of the sandbox in dir.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFn))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: start one with `trafficctl sandbox up`", ErrNotRunning, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read sandbox state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read sandbox state %s: %w", filepath.Join(dir, stateFn), err)
	}
	return &st, nil
}

// Running reports whether any process of a sandbox in dir is alive.
func Running(dir string) bool {
	for _, g := range []string{appDir, promDir, k8sDir} {
		if localk8s.Running(filepath.Join(dir, g)) {
			return true
		}
	}
	return false
}

// Down stops every process of the sandbox in dir (SIGTERM, then SIGKILL after 5 s) and removes
// its state. It returns how many processes it stopped, and ErrNotRunning when there was nothing.
func Down(dir string) (int, error) {
	n := 0
	var errs []error
	// The data plane and app first, so they do not log errors about a vanished API server.
	for _, g := range []string{appDir, promDir, k8sDir} {
		d := filepath.Join(dir, g)
		pids, _ := filepath.Glob(filepath.Join(d, "*.pid"))
		for _, p := range pids {
			if pid := localk8s.PIDOf(d, strings.TrimSuffix(filepath.Base(p), ".pid")); pid > 0 && localk8s.Alive(pid) {
				n++
			}
		}
		if err := localk8s.StopDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	_, statErr := os.Stat(filepath.Join(dir, stateFn))
	if err := os.Remove(filepath.Join(dir, stateFn)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return n, err
	}
	if n == 0 && statErr != nil {
		return 0, fmt.Errorf("%w in %s", ErrNotRunning, dir)
	}
	return n, nil
}

// repoRoot finds the trafficctl checkout above the working directory or the executable, where
// localk8s.FindCRDs looks for ../shared/crds; "" when there is none.
func repoRoot() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/trafficctl/trafficctl\n") {
				return dir
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}
