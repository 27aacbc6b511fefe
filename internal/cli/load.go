package cli

import (
	"bufio"
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
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/term"

	"github.com/trafficctl/trafficctl/pkg/load"
	"github.com/trafficctl/trafficctl/pkg/report"
)

const (
	outputHTML = "html"
	// rateMax asks for a closed loop as fast as the connections allow, for maximum throughput.
	rateMax = "max"
)

func newLoadCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load-test HTTP services: attacks, scenarios, sweeps, capacity search, comparisons",
		Long: `Load tests in the open model (requests leave on schedule whatever the target does), built on
vegeta's library. Latency is reported twice: raw (on the wire) and corrected for coordinated
omission (from the intended send time), so a stalled target or a saturated generator shows up
instead of being hidden. Results files keep vegeta's encoding: 'vegeta report' reads them.

Only send load to services you own.`,
	}
	cmd.AddCommand(
		newLoadAttackCommand(f),
		newLoadRunCommand(f),
		newLoadSweepCommand(f),
		newLoadCapacityCommand(f),
		newLoadCompareCommand(f),
		newLoadMergeCommand(f),
		newLoadJobCommand(f),
		newLoadCollectCommand(f),
	)
	return cmd
}

// attackFlags are the request and client flags shared by the load subcommands.
type attackFlags struct {
	method        string
	headers       []string
	bodyFile      string
	timeout       time.Duration
	connections   int
	lateThreshold time.Duration
	protoFiles    []string
	importPaths   []string

	header http.Header
	body   []byte
	// protos are the compiled --proto files; nil asks gRPC servers by reflection.
	protos *load.Protos
}

func (a *attackFlags) add(fs *pflag.FlagSet) {
	a.addRequest(fs)
	fs.IntVar(&a.connections, "connections", 0, "fixed number of connections per host, reused (0: grow with demand)")
}

// addRequest registers every shared flag but --connections, which a sweep takes as a list.
func (a *attackFlags) addRequest(fs *pflag.FlagSet) {
	fs.StringVar(&a.method, "method", http.MethodGet, "HTTP method for a URL argument")
	fs.StringArrayVarP(&a.headers, "header", "H", nil, `request header "Key: Value" (repeatable)`)
	fs.StringVar(&a.bodyFile, "body", "", "file whose content is the request body")
	fs.DurationVar(&a.timeout, "timeout", load.DefaultTimeout, "per-request timeout, connection wait included (0: none)")
	fs.DurationVar(&a.lateThreshold, "late-threshold", load.DefaultLateThreshold, "a request leaving this much after its intended time counts as a late send")
	fs.StringArrayVar(&a.protoFiles, "proto", nil, ".proto file with the gRPC targets' services, for servers without reflection (repeatable; default: ask the server's reflection service)")
	fs.StringArrayVarP(&a.importPaths, "import-path", "I", nil, "directory where --proto files and their imports are found, as protoc's -I (repeatable; default: each file's directory)")
}

func (a *attackFlags) complete() error {
	a.header = http.Header{}
	for _, h := range a.headers {
		k, v, ok := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return usageErrorf("invalid -H %q: use \"Key: Value\"", h)
		}
		a.header.Add(k, v)
	}
	if a.bodyFile != "" {
		b, err := readFileArg(a.bodyFile)
		if err != nil {
			return usageErrorf("read --body: %w", err)
		}
		a.body = b
	}
	if a.connections < 0 {
		return usageErrorf("invalid --connections %d: must be 0 (grow with demand) or positive", a.connections)
	}
	if a.timeout < 0 {
		return usageErrorf("invalid --timeout %s: must not be negative", a.timeout)
	}
	if a.lateThreshold < 0 || a.lateThreshold > maxFlagDuration {
		return usageErrorf("invalid --late-threshold %s: must be within 0s..%s", a.lateThreshold, maxFlagDuration)
	}
	if len(a.importPaths) > 0 && len(a.protoFiles) == 0 {
		return usageErrorf("-I/--import-path is where --proto files are found: give the files with --proto")
	}
	if len(a.protoFiles) > 0 {
		// Compiling is local work bounded by the files' size: nothing to cancel.
		p, err := load.CompileProtos(context.Background(), a.protoFiles, a.importPaths)
		if err != nil {
			return usageErrorf("--proto: %w", err)
		}
		a.protos = p
	}
	return nil
}

func (a *attackFlags) attacker(connections int) *load.Attacker {
	return load.NewAttacker(
		load.Timeout(a.timeout),
		load.Connections(connections),
		load.LateThreshold(a.lateThreshold),
	)
}

// closedLoop is an attacker with one worker per connection, for --rate max.
func (a *attackFlags) closedLoop() *load.Attacker {
	return load.NewAttacker(
		load.Timeout(a.timeout),
		load.Connections(a.connections),
		load.MaxWorkers(a.connections),
		load.LateThreshold(a.lateThreshold),
	)
}

// targets builds the target set from a URL argument or a --targets file (vegeta's format).
func (a *attackFlags) targets(args []string, targetsFile string) (*load.TargetSet, error) {
	var tgts []load.Target
	switch {
	case len(args) == 1 && targetsFile != "":
		return nil, usageErrorf("give either a URL or --targets, not both")
	case len(args) == 1:
		tgts = []load.Target{{Target: vegeta.Target{Method: a.method, URL: args[0], Body: a.body, Header: a.header}}}
	case targetsFile != "":
		fh, err := os.Open(targetsFile)
		if err != nil {
			return nil, usageErrorf("open --targets: %w", err)
		}
		defer fh.Close()
		if tgts, err = load.ParseTargets(fh, filepath.Dir(targetsFile), a.body, a.header); err != nil {
			return nil, usageErrorf("%s: %w", targetsFile, err)
		}
	default:
		return nil, usageErrorf("give a URL to attack or --targets FILE")
	}
	ts, err := load.NewTargetSet(tgts, load.WithProtos(a.protos))
	if err != nil {
		return nil, usageErrorf("%w", err)
	}
	return ts, nil
}

// checkReachable fails fast, with a clear error, when the first target refuses connections.
func checkReachable(ctx context.Context, rawURL string, timeout time.Duration) error {
	if timeout <= 0 || timeout > 5*time.Second {
		timeout = 5 * time.Second
	}
	if !strings.HasPrefix(rawURL, "http://") && !strings.HasPrefix(rawURL, "https://") {
		// A gRPC target (validated already): a TCP connect, as its method may come from
		// --proto files and no call is made before the attack.
		u, err := url.Parse(rawURL)
		if err != nil {
			return usageErrorf("invalid URL %q: %w", rawURL, err)
		}
		conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return fmt.Errorf("target %s is unreachable: %w; check the URL and that the service is up", rawURL, err)
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, rawURL, nil)
	if err != nil {
		return usageErrorf("invalid URL %q: %w", rawURL, err)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("target %s is unreachable: %w; check the URL and that the service is up", rawURL, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

// progressFunc returns a callback printing a one-line progress on w when w is a terminal and
// the run is long enough to want one, and a func ending the line.
func progressFunc(w io.Writer, total time.Duration) (func(load.Progress), func()) {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok || total <= 2*time.Second || !term.IsTerminal(int(f.Fd())) {
		return nil, func() {}
	}
	printed := false
	return func(p load.Progress) {
			printed = true
			fmt.Fprintf(w, "\r%s/%s  %d requests  %d errors  %d late   ",
				p.Elapsed.Truncate(time.Second), total, p.Requests, p.Errors, p.LateSends)
		}, func() {
			if printed {
				fmt.Fprint(w, "\r\033[K")
			}
		}
}

type loadAttackOptions struct {
	f           *Factory
	flags       attackFlags
	targetsFile string
	rate        string
	duration    time.Duration
	format      string
	outputFile  string

	pacer vegeta.Rate
	ts    *load.TargetSet
	args  []string
}

func newLoadAttackCommand(f *Factory) *cobra.Command {
	o := &loadAttackOptions{f: f}
	cmd := &cobra.Command{
		Use:   "attack [URL]",
		Short: "Send requests at a constant rate and report latency, raw and corrected",
		Long: `Send requests to a URL (or to the targets of a file in vegeta's format) at a constant rate for a
duration, in the open model, and report vegeta's metrics plus the attempted rate, latencies
corrected for coordinated omission and the late sends.

With --connections N exactly N connections are opened and reused; when the rate needs more,
requests wait for a free connection and the wait counts in the corrected latency (the
schedule is kept). Ctrl-C stops at once and prints the report of what finished.

gRPC unary methods are targets too: grpc://HOST:PORT/package.Service/Method with the request
as JSON in --body. The method's request type comes from the server's reflection service, or,
for a server without one, from its .proto files: --proto FILE (repeatable) and -I DIR for the
directories their imports are found in, as with protoc (google/protobuf/* are built in). The
request is encoded once, before the attack.`,
		Example: `  trafficctl load attack http://127.0.0.1:8080/api/list --rate 200/s --duration 30s
  trafficctl load attack --targets targets.txt --rate 1000/s --connections 16 -o json
  trafficctl load attack http://127.0.0.1:8080/ --duration 10s --output results.bin -o html > report.html
  vegeta report results.bin
  trafficctl load attack grpc://127.0.0.1:8080/emojivoto.v1.EmojiService/ListAll --body req.json --rate 500/s
  trafficctl load attack grpc://127.0.0.1:8080/emojivoto.v1.EmojiService/ListAll --proto Emoji.proto -I proto --rate 500/s
  trafficctl load attack http://127.0.0.1:8080/ --rate max --connections 64 --duration 5s`,
		Args: cobra.MaximumNArgs(1),
		RunE: runOptions(o),
	}
	fs := cmd.Flags()
	o.flags.add(fs)
	fs.StringVar(&o.targetsFile, "targets", "", "targets file in vegeta's HTTP format instead of a URL")
	fs.StringVar(&o.rate, "rate", "50/s", `requests per period, e.g. 200/s or 1000/1m; "max": as fast as --connections allow (closed loop)`)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to attack")
	addFormatFlag(cmd, &o.format)
	fs.StringVar(&o.outputFile, "output", "", "also write every result to FILE in vegeta's encoding (read it with 'vegeta report')")
	return cmd
}

// addFormatFlag registers -o/--format: the report format (--output names a results file).
func addFormatFlag(cmd *cobra.Command, target *string) {
	allowed := []string{outputText, outputJSON, outputHTML}
	cmd.Flags().StringVarP(target, "format", "o", outputText, fmt.Sprintf("report format: one of %v", allowed))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}

func (o *loadAttackOptions) Complete(args []string) error {
	o.args = args
	if err := o.flags.complete(); err != nil {
		return err
	}
	var err error
	if o.rate == rateMax {
		if o.flags.connections <= 0 {
			return usageErrorf("--rate max is a closed loop: give --connections N, the requests in flight")
		}
		o.pacer = load.Unbounded
	} else if o.pacer, err = load.ParseRate(o.rate); err != nil {
		return usageErrorf("invalid --rate: %w", err)
	}
	o.ts, err = o.flags.targets(args, o.targetsFile)
	return err
}

func (o *loadAttackOptions) Validate() error {
	if o.duration <= 0 {
		return usageErrorf("invalid --duration %s: must be positive", o.duration)
	}
	return validateFormat(o.format)
}

func validateFormat(format string) error {
	if err := validateOutput(format, outputText, outputJSON, outputHTML); err != nil {
		return usageErrorf("invalid value %q for -o/--format: use one of %v", format, []string{outputText, outputJSON, outputHTML})
	}
	return nil
}

func (o *loadAttackOptions) Run(ctx context.Context) error {
	if err := checkReachable(ctx, o.ts.URL(0), o.flags.timeout); err != nil {
		return err
	}
	ro := load.RunOptions{Name: "trafficctl"}
	var results *bufio.Writer
	if o.outputFile != "" {
		fh, err := os.Create(o.outputFile)
		if err != nil {
			return fmt.Errorf("create --output: %w", err)
		}
		defer fh.Close()
		results = bufio.NewWriterSize(fh, 256*1024)
		ro.Encoder = vegeta.NewEncoder(results)
	}
	progress, endProgress := progressFunc(o.f.Streams.ErrOut, o.duration)
	ro.Progress = progress
	atk := o.flags.attacker(o.flags.connections)
	if o.rate == rateMax {
		atk = o.flags.closedLoop()
	}
	rep, err := atk.Run(ctx, o.ts, o.pacer, o.duration, ro)
	endProgress()
	if results != nil {
		if ferr := results.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write --output: %w", ferr)
		}
	}
	interrupted := errors.Is(err, context.Canceled)
	if err != nil && !interrupted {
		return err
	}
	title := fmt.Sprintf("trafficctl load attack %s at %s for %s", o.ts.Name(0), o.rate, o.duration)
	if perr := writeReport(o.f.Streams.Out, o.format, title, rep); perr != nil {
		return perr
	}
	if interrupted {
		return fmt.Errorf("attack interrupted after %d requests: the report is partial", rep.Requests)
	}
	return nil
}

func writeReport(w io.Writer, format, title string, rep *load.Report) error {
	switch format {
	case outputJSON:
		return printStructured(w, outputJSON, rep)
	case outputHTML:
		return report.WriteHTML(w, load.AttackPage(title, rep))
	default:
		return load.WriteText(w, rep)
	}
}
