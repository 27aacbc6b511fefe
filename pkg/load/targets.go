package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trafficctl/trafficctl/pkg/internal/limits"
)

// ErrBadTarget is wrapped by every error about a malformed target.
var ErrBadTarget = errors.New("bad target")

// MaxTotalWeight bounds the sum of target weights: the weighted order is a precomputed wheel of
// that many slots.
const MaxTotalWeight = 100000

// Target is one request blueprint: vegeta's Target with a name for per-target results and a
// relative weight.
type Target struct {
	vegeta.Target
	// Name labels the target in results; "METHOD URL" when empty.
	Name string
	// Weight is the target's share of the hits relative to the others; 0 counts as 1.
	Weight int

	template *http.Request
	raw      rawRequest
	grpc     *grpcCall
}

// TargetSet is an immutable set of targets and the order hits go to them: smooth weighted
// round-robin, so with weights 60/30/10 every window of ten hits has six, three and one.
type TargetSet struct {
	targets []*Target
	wheel   []int

	prepareOnce sync.Once
	prepareErr  error
	// rawAddr is the one host:port of every target when they are all plain HTTP, for the raw path.
	rawAddr string
}

// TargetSetOption tunes NewTargetSet.
type TargetSetOption func(*targetSetOptions)

type targetSetOptions struct {
	protos *Protos
}

// WithProtos resolves the methods of gRPC targets in p instead of by server reflection, so
// servers without a reflection service can be attacked; nil keeps reflection.
func WithProtos(p *Protos) TargetSetOption {
	return func(o *targetSetOptions) { o.protos = p }
}

// NewTargetSet validates tgts and prepares a request template for each; gRPC targets are
// encoded here when WithProtos is given, else by Prepare.
func NewTargetSet(tgts []Target, opts ...TargetSetOption) (*TargetSet, error) {
	if len(tgts) == 0 {
		return nil, fmt.Errorf("%w: no targets", ErrBadTarget)
	}
	var o targetSetOptions
	for _, opt := range opts {
		opt(&o)
	}
	ts := &TargetSet{}
	total := 0
	weights := make([]int, len(tgts))
	for i := range tgts {
		t := tgts[i]
		if t.Method == "" {
			t.Method = http.MethodGet
		}
		if strings.HasPrefix(t.URL, grpcScheme+"://") {
			t.Method = "GRPC"
		}
		if t.Name == "" {
			t.Name = t.Method + " " + t.URL
		}
		if t.Weight < 0 {
			return nil, fmt.Errorf("%w: %s: weight %d is negative", ErrBadTarget, t.Name, t.Weight)
		}
		w := max(t.Weight, 1)
		if total += w; total > MaxTotalWeight {
			return nil, fmt.Errorf("%w: weights add up to more than %d", ErrBadTarget, MaxTotalWeight)
		}
		weights[i] = w
		if t.Method == "GRPC" {
			addr, method, err := parseGRPCURL(t.URL)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrBadTarget, t.Name, err)
			}
			t.grpc = &grpcCall{addr: addr, method: method, body: t.Body}
			if o.protos != nil {
				md, err := o.protos.Method(method)
				if err == nil {
					err = t.grpc.encode(md)
				}
				if err != nil {
					return nil, fmt.Errorf("%w: %s: %w", ErrBadTarget, t.Name, err)
				}
			}
			ts.targets = append(ts.targets, &t)
			continue
		}
		req, err := newTemplate(&t.Target)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadTarget, t.Name, err)
		}
		t.template = req
		t.raw = newRawRequest(req, t.Body)
		ts.targets = append(ts.targets, &t)
	}
	ts.wheel = smoothWheel(weights)
	ts.rawAddr = rawAddr(ts.targets)
	return ts, nil
}

// rawAddr is the common dial address of plain-HTTP targets without a proxy, or "".
func rawAddr(tgts []*Target) string {
	addr := ""
	for _, t := range tgts {
		if t.template == nil {
			return ""
		}
		u := t.template.URL
		if u.Scheme != "http" {
			return ""
		}
		if p, err := http.ProxyFromEnvironment(t.template); err != nil || p != nil {
			return ""
		}
		a := u.Host
		if u.Port() == "" {
			a = net.JoinHostPort(u.Hostname(), "80")
		}
		if addr != "" && a != addr {
			return ""
		}
		addr = a
	}
	return addr
}

// MaxTargets bounds the targets of a targets file.
const MaxTargets = 100_000

// validateURL checks an HTTP(S) target's URL, or a gRPC target's (method "GRPC").
func validateURL(t *vegeta.Target) error {
	if t.Method == "GRPC" || strings.HasPrefix(t.URL, grpcScheme+"://") {
		_, _, err := parseGRPCURL(t.URL)
		return err
	}
	_, err := newTemplate(t)
	return err
}

func newTemplate(t *vegeta.Target) (*http.Request, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: scheme must be http or https", t.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", t.URL)
	}
	if err := checkHeaders(t.Header); err != nil {
		return nil, err
	}
	req, err := http.NewRequest(t.Method, t.URL, nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range t.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	}
	if len(t.Body) > 0 {
		body := t.Body
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return req, nil
}

// smoothWheel lays out hits so that every target gets its share evenly spread (nginx's smooth
// weighted round-robin), over one cycle of sum(weights)/gcd slots.
func smoothWheel(weights []int) []int {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	total := 0
	for i := range weights {
		weights[i] /= g
		total += weights[i]
	}
	current := make([]int, len(weights))
	wheel := make([]int, 0, total)
	for range total {
		best := 0
		for i, w := range weights {
			current[i] += w
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		wheel = append(wheel, best)
	}
	return wheel
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (ts *TargetSet) pick(seq uint64) int { return ts.wheel[seq%uint64(len(ts.wheel))] }

// Len is the number of targets.
func (ts *TargetSet) Len() int { return len(ts.targets) }

// Name is the name of target i.
func (ts *TargetSet) Name(i int) string { return ts.targets[i].Name }

// ParseTargets reads targets in vegeta's HTTP format: "METHOD URL" lines, each optionally
// followed by "Key: Value" header lines and one "@path" body line (relative to dir), targets
// separated by blank lines or the next method line, "#" comments. body and hdr are the
// defaults every target starts from. Errors name the line.
//
// The file is read up to limits.File bytes and MaxTargets targets.
func ParseTargets(r io.Reader, dir string, body []byte, hdr http.Header) ([]Target, error) {
	sc := bufio.NewScanner(limits.NewReader(r, limits.File, "the targets"))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var (
		tgts    []Target
		cur     *Target
		lineNo  int
		hadBody bool
	)
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			cur = nil
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		if method, rawURL, ok := methodLine(line); ok {
			if _, err := url.ParseRequestURI(rawURL); err != nil {
				return nil, fmt.Errorf("%w: line %d: bad URL %q: use an absolute http(s) URL", ErrBadTarget, lineNo, rawURL)
			}
			t := Target{Target: vegeta.Target{Method: method, URL: rawURL, Body: body, Header: hdr.Clone()}}
			if t.Header == nil {
				t.Header = http.Header{}
			}
			if err := validateURL(&t.Target); err != nil {
				return nil, fmt.Errorf("%w: line %d: %w", ErrBadTarget, lineNo, err)
			}
			if len(tgts) == MaxTargets {
				return nil, fmt.Errorf("%w: line %d: more than %d targets", ErrBadTarget, lineNo, MaxTargets)
			}
			tgts = append(tgts, t)
			cur = &tgts[len(tgts)-1]
			hadBody = false
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("%w: line %d: %q: expected \"METHOD URL\", e.g. \"GET http://127.0.0.1:8080/\"", ErrBadTarget, lineNo, clip(line))
		}
		if hadBody {
			return nil, fmt.Errorf("%w: line %d: nothing may follow the @body line of a target", ErrBadTarget, lineNo)
		}
		if path, ok := strings.CutPrefix(line, "@"); ok {
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			b, err := limits.ReadFile(path, limits.File)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: read body: %w", ErrBadTarget, lineNo, err)
			}
			cur.Body = b
			hadBody = true
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("%w: line %d: bad header %q: use \"Key: Value\"", ErrBadTarget, lineNo, clip(line))
		}
		// Keys stay as written: vegeta is used against servers that care about header case.
		cur.Header[k] = append(cur.Header[k], v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %w", ErrBadTarget, lineNo+1, err)
	}
	if len(tgts) == 0 {
		return nil, fmt.Errorf("%w: no targets found: add lines like \"GET http://127.0.0.1:8080/\"", ErrBadTarget)
	}
	return tgts, nil
}

// methodLine splits "METHOD URL" when the first word is an upper-case HTTP method.
func methodLine(line string) (method, rawURL string, ok bool) {
	method, rest, found := strings.Cut(line, " ")
	if !found || method == "" {
		return "", "", false
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return "", "", false
		}
	}
	return method, strings.TrimSpace(rest), true
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// URL is the URL of target i.
func (ts *TargetSet) URL(i int) string { return ts.targets[i].URL }
