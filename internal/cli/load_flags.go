package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/load"
)

const (
	// probeDuration is the default --duration of each probe of sweep, capacity and compare.
	probeDuration = 5 * time.Second
	outputHTML    = "html"
	// rateMax asks for a closed loop as fast as the connections allow, for maximum throughput.
	rateMax = "max"
)

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

// probeFlags are shared by sweep and capacity: one target and a probe duration.
type probeFlags struct {
	attackFlags
	duration time.Duration
	pause    time.Duration
	format   string
}

func (p *probeFlags) add(cmd *cobra.Command, connectionsFlag bool) {
	if connectionsFlag {
		p.attackFlags.add(cmd.Flags())
	} else {
		p.addRequest(cmd.Flags())
	}
	cmd.Flags().DurationVar(&p.duration, "duration", probeDuration, "how long each probe attacks")
	cmd.Flags().DurationVar(&p.pause, "pause", 500*time.Millisecond, "pause between probes so the target drains")
	addFormatFlag(cmd, &p.format)
}

func (p *probeFlags) complete() error {
	if err := p.attackFlags.complete(); err != nil {
		return err
	}
	if p.duration <= 0 {
		return usageErrorf("invalid --duration %s: must be positive", p.duration)
	}
	if p.pause < 0 || p.pause > maxFlagDuration {
		return usageErrorf("invalid --pause %s: must be within 0s..%s", p.pause, maxFlagDuration)
	}
	return validateFormat(p.format)
}

func (p *probeFlags) prober(ts *load.TargetSet) load.Prober {
	return load.NewProber(p.attacker, ts, p.duration, p.pause)
}

// probeOptions are the options sweep and capacity share: the probe flags and the URL argument.
type probeOptions struct {
	genericiooptions.IOStreams
	flags probeFlags
	args  []string

	ts *load.TargetSet
}

func (o *probeOptions) Complete(_ *cobra.Command, args []string) error {
	o.args = args
	return o.flags.complete()
}

// validateSLOFlags checks the --min-success and --precision of a capacity search.
func validateSLOFlags(minSuccess, precision float64) error {
	if inRange(minSuccess, 0, 100) != nil {
		return usageErrorf("invalid --min-success %g: a percentage between 0 and 100", minSuccess)
	}
	if precision <= 0 || precision >= 1 || inRange(precision, 0, 1) != nil {
		return usageErrorf("invalid --precision %g: between 0 and 1, e.g. 0.02", precision)
	}
	return nil
}
