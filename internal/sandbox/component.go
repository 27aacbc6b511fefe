package sandbox

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/trafficctl/trafficctl/internal/dataplane"
	"github.com/trafficctl/trafficctl/internal/demoapp"
	"github.com/trafficctl/trafficctl/internal/tracecontext"
	"github.com/trafficctl/trafficctl/pkg/kube"
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
	Kubeconfig    string               `json:"kubeconfig,omitempty"`
	Namespace     string               `json:"namespace,omitempty"`
	Apex          string               `json:"apex,omitempty"`
	Client        string               `json:"client,omitempty"`
	Upstreams     []dataplane.Upstream `json:"upstreams,omitempty"`
	Balance       dataplane.Balance    `json:"balance,omitempty"`
	MetricsListen string               `json:"metricsListen,omitempty"`
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
	s := demoapp.NewGRPCServer(tr)
	knobs := demoapp.NewKnobs(spec.Behaviour)
	if spec.Kind == KindEmoji {
		demoapp.RegisterEmoji(s, knobs)
	} else {
		demoapp.RegisterVoting(s, &demoapp.Votes{}, knobs)
	}
	if err := writeAddrs(spec.Dir, spec.Name, l.Addr().String()); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		s.GracefulStop()
	}()
	return s.Serve(l)
}

func serveWeb(ctx context.Context, spec ComponentSpec) error {
	emoji, err := demoapp.Dial(spec.Emoji)
	if err != nil {
		return err
	}
	defer emoji.Close()
	voting, err := demoapp.Dial(spec.Voting)
	if err != nil {
		return err
	}
	defer voting.Close()
	l, err := net.Listen("tcp", spec.Listen)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", spec.Name, err)
	}
	tr, err := startTracer(ctx, spec)
	if err != nil {
		l.Close()
		return err
	}
	defer shutdownTracer(tr)
	web := demoapp.NewWeb(emoji, voting, demoapp.NewKnobs(spec.Behaviour), spec.Version, spec.Name)
	traced := tracecontext.New(tracecontext.WithTracer(tr)).Handler(web)
	return serveHTTP(ctx, spec, []net.Listener{l}, []http.Handler{traced})
}

// startTracer returns nil (propagation only) unless spec names a collector.
func startTracer(ctx context.Context, spec ComponentSpec) (*tracecontext.Tracer, error) {
	if spec.OTLPEndpoint == "" {
		return nil, nil
	}
	service := spec.Kind
	if spec.Kind != KindWeb {
		service += "-svc"
	}
	tr, err := tracecontext.NewTracer(ctx, spec.OTLPEndpoint, service, spec.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: trace exporter for %s: %w", spec.Name, spec.OTLPEndpoint, err)
	}
	return tr, nil
}

// shutdownTracer flushes the spans still buffered when the component stops.
func shutdownTracer(tr *tracecontext.Tracer) {
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
	l := &live{c: c, ns: spec.Namespace, apex: spec.Apex}
	p, err := dataplane.NewProxy(dataplane.ProxyConfig{Namespace: spec.Namespace, Client: spec.Client,
		Upstreams: spec.Upstreams, Split: l.Split, Policy: l.Policy, Balance: spec.Balance})
	if err != nil {
		return err
	}
	pl, err := net.Listen("tcp", spec.Listen)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", spec.Name, spec.Listen, err)
	}
	ml, err := net.Listen("tcp", spec.MetricsListen)
	if err != nil {
		pl.Close()
		return fmt.Errorf("%s: listen for metrics: %w", spec.Name, err)
	}
	admin := http.NewServeMux()
	admin.Handle("/metrics", p.Metrics())
	admin.HandleFunc(BalancePath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, err := dataplane.ParseBalance(r.URL.Query().Get("mode"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			p.SetBalance(b)
		}
		fmt.Fprintln(w, p.Balance())
	})
	go p.Run(ctx)
	go logErrors(ctx, p.Err)
	return serveHTTP(ctx, spec, []net.Listener{pl, ml}, []http.Handler{p, admin})
}

// serveHTTP serves each listener with its handler, publishes the addresses, and shuts down
// gracefully when ctx ends.
func serveHTTP(ctx context.Context, spec ComponentSpec, ls []net.Listener, hs []http.Handler) error {
	errc := make(chan error, len(ls))
	addrs := make([]string, len(ls))
	servers := make([]*http.Server, len(ls))
	for i, l := range ls {
		servers[i] = &http.Server{Handler: hs[i], ReadHeaderTimeout: 5 * time.Second}
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
