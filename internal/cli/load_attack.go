package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/pkg/load"
)

var (
	loadAttackShort = "Send requests at a constant rate and report latency, raw and corrected"
	loadAttackLong  = `Send requests to a URL (or to the targets of a file in vegeta's format) at a constant rate for a
duration, in the open model, and report vegeta's metrics plus the attempted rate, latencies
corrected for coordinated omission and the late sends.

With --connections N exactly N connections are opened and reused; when the rate needs more,
requests wait for a free connection and the wait counts in the corrected latency (the
schedule is kept). Ctrl-C stops at once and prints the report of what finished.

gRPC unary methods are targets too: grpc://HOST:PORT/package.Service/Method with the request
as JSON in --body. The method's request type comes from the server's reflection service, or,
for a server without one, from its .proto files: --proto FILE (repeatable) and -I DIR for the
directories their imports are found in, as with protoc (google/protobuf/* are built in). The
request is encoded once, before the attack.`
	loadAttackExample = `  trafficctl load attack http://127.0.0.1:8080/api/list --rate 200/s --duration 30s
  trafficctl load attack --targets targets.txt --rate 1000/s --connections 16 -o json
  trafficctl load attack http://127.0.0.1:8080/ --duration 10s --output results.bin -o html > report.html
  vegeta report results.bin
  trafficctl load attack grpc://127.0.0.1:8080/emojivoto.v1.EmojiService/ListAll --body req.json --rate 500/s
  trafficctl load attack grpc://127.0.0.1:8080/emojivoto.v1.EmojiService/ListAll --proto Emoji.proto -I proto --rate 500/s
  trafficctl load attack http://127.0.0.1:8080/ --rate max --connections 64 --duration 5s`
)

type loadAttackOptions struct {
	genericiooptions.IOStreams
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
	o := &loadAttackOptions{IOStreams: f.Streams}
	cmd := newCommand("attack [URL]", loadAttackShort, loadAttackLong, loadAttackExample, cobra.MaximumNArgs(1), o)
	fs := cmd.Flags()
	o.flags.add(fs)
	fs.StringVar(&o.targetsFile, "targets", "", "targets file in vegeta's HTTP format instead of a URL")
	fs.StringVar(&o.rate, "rate", "50/s", `requests per period, e.g. 200/s or 1000/1m; "max": as fast as --connections allow (closed loop)`)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to attack")
	addFormatFlag(cmd, &o.format)
	fs.StringVar(&o.outputFile, "output", "", "also write every result to FILE in vegeta's encoding (read it with 'vegeta report')")
	return cmd
}

func (o *loadAttackOptions) Complete(_ *cobra.Command, args []string) error {
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
	progress, endProgress := progressFunc(o.ErrOut, o.duration)
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
	if perr := writeReport(o.Out, o.format, title, rep); perr != nil {
		return perr
	}
	if interrupted {
		return fmt.Errorf("attack interrupted after %d requests: the report is partial", rep.Requests)
	}
	return nil
}
