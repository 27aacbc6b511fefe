package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/trafficctl/trafficctl/internal/sandbox/demoapp"
	"github.com/trafficctl/trafficctl/internal/sandbox/proxy"
	"github.com/trafficctl/trafficctl/internal/sandbox/tracing"
	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/split"
)

// Component kinds a sandbox runs as its own processes.
const (
	KindEmoji     = "emoji"
	KindVoting    = "voting"
	KindWeb       = "web"
	KindDataPlane = "dataplane"
)

// ComponentSpec is everything one component process needs; `sandbox up` writes it to a file
// that the re-executed `trafficctl sandbox serve-component --spec FILE` reads.
type ComponentSpec struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Dir is where the component publishes its addresses (Name.addr).
	Dir string `json:"dir"`
	// Listen is the address to serve on (127.0.0.1:0 picks a free port).
	Listen    string            `json:"listen"`
	Behaviour demoapp.Behaviour `json:"behaviour"`
	// OTLPEndpoint is the host:port of an OTLP/HTTP collector the demo app sends its spans to;
	// empty means trace context is propagated but no spans are exported.
	OTLPEndpoint string `json:"otlpEndpoint,omitempty"`

	// Web: the version it reports and the gRPC services it calls.
	Version string `json:"version,omitempty"`
	Emoji   string `json:"emoji,omitempty"`
	Voting  string `json:"voting,omitempty"`

	// Data plane: the apex it fronts, read from the API server of Kubeconfig.
	Kubeconfig    string           `json:"kubeconfig,omitempty"`
	Namespace     string           `json:"namespace,omitempty"`
	Apex          string           `json:"apex,omitempty"`
	Client        string           `json:"client,omitempty"`
	Upstreams     []proxy.Upstream `json:"upstreams,omitempty"`
	Balance       proxy.Balance    `json:"balance,omitempty"`
	MetricsListen string           `json:"metricsListen,omitempty"`
	// Hops are the data plane's gRPC routes from web to emoji-svc and voting-svc.
	Hops []Hop `json:"hops,omitempty"`
}

// Hop is the data plane's route for one web version's gRPC calls to one Service: web dials
// Addr, the hop meters the call as Linkerd's proxies would (outbound for the web version,
// inbound for the Service's Deployment) and forwards it over h2c. `sandbox up` binds the
// listener itself and hands it to the data plane as file descriptor FD, so that web (started
// before the data plane, which needs web's addresses) knows the address from the start.
type Hop struct {
	// Client is the calling web Deployment.
	Client   string         `json:"client"`
	Upstream proxy.Upstream `json:"upstream"`
	// Port is the Service's port, part of the authority label.
	Port int    `json:"port"`
	FD   int    `json:"fd"`
	Addr string `json:"addr"`
}

// BalancePath is the data plane's admin endpoint on its metrics port: GET shows, POST
// ?mode=round-robin|ewma changes how replicas are balanced.
const BalancePath = "/admin/balance"

// Serve runs one component until ctx ends (SIGTERM from `sandbox down`).
func Serve(ctx context.Context, spec ComponentSpec) error {
	if err := spec.Behaviour.Validate(); err != nil {
		return err
	}
	switch spec.Kind {
	case KindEmoji, KindVoting:
		return serveGRPC(ctx, spec)
	case KindWeb:
		return serveWeb(ctx, spec)
	case KindDataPlane:
		return serveDataPlane(ctx, spec)
	}
	return fmt.Errorf("unknown component kind %q", spec.Kind)
}

func serveGRPC(ctx context.Context, spec ComponentSpec) error {
	l, err := net.Listen("tcp", spec.Listen)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", spec.Name, err)
	}
	tr, err := startTracer(ctx, spec)
	if err != nil {
		return err
	}
	defer shutdownTracer(tr)
	// The knobs are changed over HTTP, on a port of their own (gRPC has the main one).
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.Close()
		return fmt.Errorf("%s: listen for the admin endpoint: %w", spec.Name, err)
	}
	s := demoapp.NewGRPCServer(tr)
	knobs := demoapp.NewKnobs(spec.Behaviour)
	if spec.Kind == KindEmoji {
		demoapp.RegisterEmoji(s, knobs)
	} else {
		demoapp.RegisterVoting(s, &demoapp.Votes{}, knobs)
	}
	admin := &http.Server{Handler: knobs, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = admin.Serve(al) }()
	defer admin.Close()
	if err := writeAddrs(spec.Dir, spec.Name, l.Addr().String(), al.Addr().String()); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		s.GracefulStop()
	}()
	return s.Serve(l)
}

func serveWeb(ctx context.Context, spec ComponentSpec) error {
	tr, err := startTracer(ctx, spec)
	if err != nil {
		return err
	}
	defer shutdownTracer(tr)
	emoji, err := demoapp.Dial(spec.Emoji, tr)
	if err != nil {
		return err
	}
	defer emoji.Close()
	voting, err := demoapp.Dial(spec.Voting, tr)
	if err != nil {
		return err
	}
	defer voting.Close()
	l, err := net.Listen("tcp", spec.Listen)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", spec.Name, err)
	}
	web := demoapp.NewWeb(emoji, voting, demoapp.NewKnobs(spec.Behaviour), spec.Version, spec.Name)
	traced := tracing.New(tracing.WithTracer(tr)).Handler(web)
	return serveHTTP(ctx, spec, []net.Listener{l}, []http.Handler{traced})
}

// startTracer returns nil (propagation only) unless spec names a collector.
func startTracer(ctx context.Context, spec ComponentSpec) (*tracing.Tracer, error) {
	if spec.OTLPEndpoint == "" {
		return nil, nil
	}
	service := spec.Kind
	if spec.Kind != KindWeb {
		service += "-svc"
	}
	tr, err := tracing.NewTracer(ctx, spec.OTLPEndpoint, service, spec.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: trace exporter for %s: %w", spec.Name, spec.OTLPEndpoint, err)
	}
	return tr, nil
}

// shutdownTracer flushes the spans still buffered when the component stops.
func shutdownTracer(tr *tracing.Tracer) {
	if tr == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tr.Shutdown(ctx)
}

func serveDataPlane(ctx context.Context, spec ComponentSpec) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", spec.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load %s: %w", spec.Kubeconfig, err)
	}
	c, err := kube.NewClientsForConfig(cfg, spec.Namespace, true, "")
	if err != nil {
		return err
	}
	metrics := proxy.NewMetrics()
	l := &live{c: c, ns: spec.Namespace, apex: spec.Apex}
	p, err := proxy.NewProxy(proxy.ProxyConfig{Namespace: spec.Namespace, Client: spec.Client,
		Authority: authority(spec.Apex, spec.Namespace, 80), Upstreams: spec.Upstreams, Split: l.Split, Policy: l.Policy,
		Balance: spec.Balance, Metrics: metrics})
	if err != nil {
		return err
	}
	// Inherited first: they are this process's to close, whatever fails next.
	hopLs, err := inheritListeners(spec.Hops)
	if err != nil {
		return fmt.Errorf("%s: %w", spec.Name, err)
	}
	pl, err := net.Listen("tcp", spec.Listen)
	if err != nil {
		closeAll(hopLs)
		return fmt.Errorf("%s: listen on %s: %w", spec.Name, spec.Listen, err)
	}
	ml, err := net.Listen("tcp", spec.MetricsListen)
	if err != nil {
		pl.Close()
		closeAll(hopLs)
		return fmt.Errorf("%s: listen for metrics: %w", spec.Name, err)
	}
	ls, hs := []net.Listener{pl, ml}, []http.Handler{p, nil}
	errfs := []func() error{p.Err}
	for i, h := range spec.Hops {
		// A gRPC hop has one version: it follows no split, only its Service's policy
		// (ServiceProfile routes, retry, timeout and failure accrual annotations).
		hl := &live{c: c, ns: spec.Namespace, apex: h.Upstream.Service}
		hp, err := proxy.NewProxy(proxy.ProxyConfig{Namespace: spec.Namespace, Client: h.Client,
			Authority: authority(h.Upstream.Service, spec.Namespace, h.Port), Upstreams: []proxy.Upstream{h.Upstream},
			Split: noSplit, Policy: hl.Policy, Balance: spec.Balance, H2C: true, Metrics: metrics, Refresh: time.Second})
		if err != nil {
			closeAll(append(ls, hopLs...))
			return err
		}
		go hp.Run(ctx)
		errfs = append(errfs, hp.Err)
		ls, hs = append(ls, hopLs[i]), append(hs, hp)
	}
	admin := http.NewServeMux()
	hs[1] = admin
	admin.Handle("/metrics", metrics.Handler())
	admin.HandleFunc(BalancePath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, err := proxy.ParseBalance(r.URL.Query().Get("mode"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			p.SetBalance(b)
		}
		fmt.Fprintln(w, p.Balance())
	})
	go p.Run(ctx)
	go logErrors(ctx, func() error {
		var errs []error
		for _, f := range errfs {
			errs = append(errs, f())
		}
		return errors.Join(errs...)
	})
	return serveHTTP(ctx, spec, ls, hs)
}

// authority is a Service's name as a meshed client addresses it, the authority label.
func authority(service, ns string, port int) string {
	return fmt.Sprintf("%s.%s.svc.cluster.local:%d", service, ns, port)
}

// noSplit is the split of a Service no router steers.
func noSplit(context.Context) (*split.Split, error) { return nil, split.ErrNotFound }

// inheritListeners turns the hops' inherited file descriptors into listeners.
func inheritListeners(hops []Hop) ([]net.Listener, error) {
	var ls []net.Listener
	for _, h := range hops {
		f := os.NewFile(uintptr(h.FD), "hop-"+h.Client+"-"+h.Upstream.Service)
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			closeAll(ls)
			return nil, fmt.Errorf("listener of the %s -> %s hop (fd %d): %w", h.Client, h.Upstream.Service, h.FD, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

// serveHTTP serves each listener with its handler, publishes the addresses, and shuts down
// gracefully when ctx ends.
func serveHTTP(ctx context.Context, spec ComponentSpec, ls []net.Listener, hs []http.Handler) error {
	errc := make(chan error, len(ls))
	addrs := make([]string, len(ls))
	servers := make([]*http.Server, len(ls))
	// HTTP/2 without TLS too: gRPC clients speak it to the data plane's hops.
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	for i, l := range ls {
		servers[i] = &http.Server{Handler: hs[i], ReadHeaderTimeout: 5 * time.Second, Protocols: protocols}
		addrs[i] = l.Addr().String()
		go func() { errc <- servers[i].Serve(l) }()
	}
	if err := writeAddrs(spec.Dir, spec.Name, addrs...); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	return nil
}

// logErrors logs the data plane's errors reading the API server when they change, so that its
// log explains why traffic does not follow a split.
func logErrors(ctx context.Context, errf func() error) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		msg := ""
		if err := errf(); err != nil {
			msg = err.Error()
		}
		if msg != last {
			if msg == "" {
				log.Printf("reading the split and policy works again")
			} else {
				log.Printf("reading the split and policy: %s", msg)
			}
			last = msg
		}
	}
}
