package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"go.yaml.in/yaml/v3"

	"github.com/trafficctl/trafficctl/pkg/internal/limits"
)

// ErrBadScenario is wrapped by every error about a malformed scenario file.
var ErrBadScenario = errors.New("bad scenario")

// Scenario is a load test described in YAML: weighted targets, a profile of stages and the
// SLO thresholds the run must meet.
type Scenario struct {
	Name        string            `yaml:"name" json:"name,omitempty"`
	Targets     []ScenarioTarget  `yaml:"targets" json:"targets"`
	Stages      []Stage           `yaml:"stages" json:"stages"`
	Thresholds  Thresholds        `yaml:"thresholds" json:"thresholds"`
	Connections int               `yaml:"connections" json:"connections,omitempty"`
	Timeout     time.Duration     `yaml:"timeout" json:"timeout,omitempty"`
	Headers     map[string]string `yaml:"headers" json:"headers,omitempty"`
	// Protos are .proto files describing the methods of the gRPC targets, for servers without
	// a reflection service; ImportPaths are where they and their imports are found (protoc's
	// -I). Relative paths resolve against the scenario's directory.
	Protos      []string `yaml:"protos" json:"protos,omitempty"`
	ImportPaths []string `yaml:"importPaths" json:"importPaths,omitempty"`

	protos      *Protos
	targetLines []int
}

// ScenarioTarget is one weighted target of a scenario.
type ScenarioTarget struct {
	Name     string            `yaml:"name" json:"name,omitempty"`
	Method   string            `yaml:"method" json:"method,omitempty"`
	URL      string            `yaml:"url" json:"url"`
	Weight   int               `yaml:"weight" json:"weight,omitempty"`
	Headers  map[string]string `yaml:"headers" json:"headers,omitempty"`
	Body     string            `yaml:"body" json:"body,omitempty"`
	BodyFile string            `yaml:"bodyFile" json:"bodyFile,omitempty"`
}

// Thresholds are the SLO a scenario checks, on latencies corrected for coordinated omission.
// Zero values are not checked.
type Thresholds struct {
	P50 time.Duration `yaml:"p50" json:"p50,omitempty"`
	P99 time.Duration `yaml:"p99" json:"p99,omitempty"`
	// MinSuccess is the lowest acceptable success ratio, in percent (99.9 means 99.9 %).
	MinSuccess float64 `yaml:"minSuccess" json:"minSuccess,omitempty"`
}

// ScenarioOption changes how ParseScenario reads a scenario.
type ScenarioOption func(*scenarioConfig)

type scenarioConfig struct {
	protos *Protos
}

// OverrideProtos resolves the scenario's gRPC targets in p (compiled from --proto flags)
// instead of the scenario's own protos, which are then not read at all.
func OverrideProtos(p *Protos) ScenarioOption {
	return func(c *scenarioConfig) { c.protos = p }
}

// ParseScenario reads a scenario; relative body and proto files resolve against dir. Errors
// name the line of the offending entry.
func ParseScenario(data []byte, dir string, opts ...ScenarioOption) (*Scenario, error) {
	var cfg scenarioConfig
	for _, o := range opts {
		o(&cfg)
	}
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty: it needs targets and stages", ErrBadScenario)
		}
		return nil, fmt.Errorf("%w: %s", ErrBadScenario, strings.TrimPrefix(oneLineYAML(err), "yaml: "))
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	lines := func(key string) []int { return itemLines(&root, key) }
	tl, sl := lines("targets"), lines("stages")
	if len(sc.Targets) == 0 {
		return nil, fmt.Errorf("%w: no targets: add a targets list with at least one url", ErrBadScenario)
	}
	if len(sc.Stages) == 0 {
		return nil, fmt.Errorf("%w: no stages: add e.g. stages: [{type: constant, rate: 100, duration: 30s}]", ErrBadScenario)
	}
	for i := range sc.Targets {
		t := &sc.Targets[i]
		if t.URL == "" {
			return nil, fmt.Errorf("%w: %starget %d has no url", ErrBadScenario, lineOf(tl, i), i+1)
		}
		if t.Weight < 0 {
			return nil, fmt.Errorf("%w: %starget %d: weight must not be negative", ErrBadScenario, lineOf(tl, i), i+1)
		}
		if t.Body != "" && t.BodyFile != "" {
			return nil, fmt.Errorf("%w: %starget %d: give body or bodyFile, not both", ErrBadScenario, lineOf(tl, i), i+1)
		}
		if t.BodyFile != "" {
			p := t.BodyFile
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, err := limits.ReadFile(p, limits.File)
			if err != nil {
				return nil, fmt.Errorf("%w: %starget %d: read bodyFile: %w", ErrBadScenario, lineOf(tl, i), i+1, err)
			}
			t.Body = string(b)
		}
	}
	if len(sc.ImportPaths) > 0 && len(sc.Protos) == 0 {
		return nil, fmt.Errorf("%w: %simportPaths without protos: list the .proto files under protos", ErrBadScenario, keyLine(&root, "importPaths"))
	}
	switch {
	case cfg.protos != nil:
		sc.protos = cfg.protos
	case len(sc.Protos) > 0:
		rel := func(ps []string) []string {
			out := make([]string, len(ps))
			for i, p := range ps {
				out[i] = p
				if !filepath.IsAbs(p) {
					out[i] = filepath.Join(dir, p)
				}
			}
			return out
		}
		// Compiling is local work bounded by the files' size: no caller deadline to honour.
		p, err := CompileProtos(context.Background(), rel(sc.Protos), rel(sc.ImportPaths))
		if err != nil {
			return nil, fmt.Errorf("%w: %sprotos: %w", ErrBadScenario, keyLine(&root, "protos"), err)
		}
		sc.protos = p
	}
	sc.targetLines = tl
	if err := sc.checkTargets(keyLine(&root, "targets")); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadScenario, err)
	}
	for i := range sc.Stages {
		if err := sc.Stages[i].Validate(); err != nil {
			return nil, fmt.Errorf("%w: %sstage %d: %w", ErrBadScenario, lineOf(sl, i), i+1, err)
		}
	}
	if _, err := NewStagesPacer(sc.Stages); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadScenario, err)
	}
	th := sc.Thresholds
	if th.P50 < 0 || th.P99 < 0 || th.MinSuccess < 0 || th.MinSuccess > 100 || math.IsNaN(th.MinSuccess) {
		return nil, fmt.Errorf("%w: %sthresholds: p50 and p99 must be durations >= 0 and minSuccess a percentage between 0 and 100",
			ErrBadScenario, keyLine(&root, "thresholds"))
	}
	if sc.Connections < 0 || sc.Timeout < 0 {
		return nil, fmt.Errorf("%w: connections and timeout must not be negative", ErrBadScenario)
	}
	return &sc, nil
}

func oneLineYAML(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// itemLines is the line of each item of the top-level sequence under key.
func itemLines(root *yaml.Node, key string) []int {
	v := mappingValue(root, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]int, len(v.Content))
	for i, n := range v.Content {
		out[i] = n.Line
	}
	return out
}

func keyLine(root *yaml.Node, key string) string {
	if v := mappingValue(root, key); v != nil {
		return fmt.Sprintf("line %d: ", v.Line)
	}
	return ""
}

func mappingValue(root *yaml.Node, key string) *yaml.Node {
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key {
			return doc.Content[i+1]
		}
	}
	return nil
}

func (sc *Scenario) targets() []Target {
	out := make([]Target, len(sc.Targets))
	for i, t := range sc.Targets {
		h := http.Header{}
		for k, v := range sc.Headers {
			h.Set(k, v)
		}
		for k, v := range t.Headers {
			h.Set(k, v)
		}
		var body []byte
		if t.Body != "" {
			body = []byte(t.Body)
		}
		method := t.Method
		if method == "" {
			method = http.MethodGet
		}
		out[i] = Target{Target: vegeta.Target{Method: method, URL: t.URL, Header: h, Body: body}, Name: t.Name, Weight: t.Weight}
	}
	return out
}

// lineOf prefixes an error about the i-th entry of a list whose items start on lines ls.
func lineOf(ls []int, i int) string {
	if i < len(ls) {
		return fmt.Sprintf("line %d: ", ls[i])
	}
	return ""
}

// checkTargets builds each target alone, so that an error names its line, then the set,
// whose error is prefixed with setLine.
func (sc *Scenario) checkTargets(setLine string) error {
	tgts := sc.targets()
	for i := range tgts {
		if _, err := NewTargetSet(tgts[i:i+1], WithProtos(sc.protos)); err != nil {
			return fmt.Errorf("%starget %d: %w", lineOf(sc.targetLines, i), i+1, err)
		}
	}
	if _, err := sc.TargetSet(); err != nil {
		return fmt.Errorf("%s%w", setLine, err)
	}
	return nil
}

// TargetSet is the scenario's weighted target set.
func (sc *Scenario) TargetSet() (*TargetSet, error) {
	return NewTargetSet(sc.targets(), WithProtos(sc.protos))
}

// Breakdown is the report of one part of a run (a stage or a target).
type Breakdown struct {
	Name   string  `json:"name"`
	Report *Report `json:"report"`
}

// ThresholdResult is the verdict on one threshold.
type ThresholdResult struct {
	Name   string `json:"name"`
	Limit  string `json:"limit"`
	Actual string `json:"actual"`
	Passed bool   `json:"passed"`
}

// ScenarioResult is the outcome of a scenario run.
type ScenarioResult struct {
	Name       string            `json:"name,omitempty"`
	Total      *Report           `json:"total"`
	Stages     []Breakdown       `json:"stages"`
	Targets    []Breakdown       `json:"targets"`
	Thresholds []ThresholdResult `json:"thresholds"`
	Passed     bool              `json:"passed"`
}

// RunScenario runs sc with a and checks its thresholds. On cancellation it returns the partial
// result with ctx's error.
func RunScenario(ctx context.Context, a *Attacker, sc *Scenario, o RunOptions) (*ScenarioResult, error) {
	ts, err := sc.TargetSet()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadScenario, err)
	}
	p, err := NewStagesPacer(sc.Stages)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadScenario, err)
	}
	stageRecs := make([]*Recorder, len(sc.Stages))
	for i := range stageRecs {
		stageRecs[i] = NewRecorder(a.lateThreshold, 0)
	}
	targetRecs := make([]*Recorder, ts.Len())
	for i := range targetRecs {
		targetRecs[i] = NewRecorder(a.lateThreshold, 0)
	}
	observe := o.Observe
	o.Observe = func(h *Hit) {
		stageRecs[p.StageAt(h.Offset)].Add(h)
		targetRecs[h.Target].Add(h)
		if observe != nil {
			observe(h)
		}
	}
	total, runErr := a.Run(ctx, ts, p, p.Duration(), o)
	if total == nil {
		return nil, runErr
	}
	res := &ScenarioResult{Name: sc.Name, Total: total}
	for i, r := range stageRecs {
		res.Stages = append(res.Stages, Breakdown{Name: p.StageNames()[i], Report: r.Report()})
	}
	for i, r := range targetRecs {
		res.Targets = append(res.Targets, Breakdown{Name: ts.Name(i), Report: r.Report()})
	}
	res.Thresholds = sc.Thresholds.Check(total)
	res.Passed = true
	for _, t := range res.Thresholds {
		res.Passed = res.Passed && t.Passed
	}
	return res, runErr
}

// Check compares rep with the thresholds.
func (th Thresholds) Check(rep *Report) []ThresholdResult {
	var out []ThresholdResult
	lat := func(name string, limit, got time.Duration) {
		out = append(out, ThresholdResult{Name: name, Limit: "<= " + limit.String(), Actual: round(got).String(), Passed: got <= limit})
	}
	if th.P50 > 0 {
		lat("p50", th.P50, rep.CorrectedLatencies.P50)
	}
	if th.P99 > 0 {
		lat("p99", th.P99, rep.CorrectedLatencies.P99)
	}
	if th.MinSuccess > 0 {
		got := rep.Success * 100
		out = append(out, ThresholdResult{
			Name: "success", Limit: fmt.Sprintf(">= %g%%", th.MinSuccess), Actual: fmt.Sprintf("%.3f%%", got),
			Passed: rep.Requests > 0 && got >= th.MinSuccess,
		})
	}
	return out
}
