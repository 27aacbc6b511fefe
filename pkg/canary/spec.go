// Package canary runs automated canary releases on Linkerd: it shifts an apex Service's traffic
// from a stable to a canary version step by step through a split.Router, analyses Linkerd's
// proxy metrics of both versions over the same window with a sequential test, and promotes,
// rolls back or holds. The rollout's state lives in the cluster so that a killed process
// resumes where it stopped, and every decision goes to a hash-chained audit log.
package canary

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/trafficctl/trafficctl/pkg/internal/limits"
	"github.com/trafficctl/trafficctl/pkg/internal/validate"
)

// APIVersion and Kind identify a Canary spec file.
const (
	APIVersion = "trafficctl.dev/v1alpha1"
	Kind       = "Canary"
)

// Defaults applied to fields a spec leaves out; the command-line flags reuse them.
var (
	DefaultSteps         = []int{5, 10, 25, 50, 100}
	DefaultInterval      = 10 * time.Second
	DefaultScrape        = 10 * time.Second
	DefaultMinRequests   = 50
	DefaultDeadline      = 30 * time.Minute
	DefaultMinSuccess    = 99.0
	DefaultQuantile      = 0.99
	DefaultLatencyRatio  = 1.5
	DefaultOnNoData      = ActionHold
	DefaultOnBackendDown = ActionHold
)

// Bounds of a spec's numbers: beyond them a rollout could never pass a step (minRequests) or
// the value is a typo (a latency bound of a year).
const (
	MaxMinRequests  = 1_000_000_000
	MaxLatencyMs    = 24 * 3600 * 1000 // one day, in ms
	MaxLatencyRatio = 1000
)

// ErrInvalidSpec wraps every parse and validation failure of a spec file.
var ErrInvalidSpec = errors.New("invalid canary spec")

// Action is what to do when analysis cannot reach a verdict. Promotion is never one of them.
type Action string

// Actions for onNoData and onBackendDown.
const (
	ActionHold     Action = "hold"
	ActionRollback Action = "rollback"
)

// MetricType names a built-in or custom check.
type MetricType string

// Metric types.
const (
	// MetricSuccessRate is Linkerd's inbound success rate (response_total), tested with the
	// sequential test against the stable version and Min.
	MetricSuccessRate MetricType = "success-rate"
	// MetricLatency is a quantile of response_latency_ms, checked against Max (ms) and against
	// the stable version's quantile times MaxRatio.
	MetricLatency MetricType = "latency"
	// MetricCustom is a PromQL template evaluated for the canary and checked against Min/Max.
	MetricCustom MetricType = "custom"
)

// Canary is the spec file's document.
type Canary struct {
	APIVersion string   `yaml:"apiVersion" json:"apiVersion"`
	Kind       string   `yaml:"kind" json:"kind"`
	Metadata   Metadata `yaml:"metadata" json:"metadata"`
	Spec       Spec     `yaml:"spec" json:"spec"`
}

// Metadata names the rollout.
type Metadata struct {
	Name      string `yaml:"name" json:"name"`
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
}

// Workload is one version: the Service the split sends to and the Deployment behind it (whose
// name Linkerd's metrics carry in the deployment label).
type Workload struct {
	Service    string `yaml:"service" json:"service"`
	Deployment string `yaml:"deployment" json:"deployment"`
}

// Spec is what a rollout does.
type Spec struct {
	// Apex is the Service clients call; the split steers its traffic.
	Apex   string   `yaml:"apex" json:"apex"`
	Stable Workload `yaml:"stable" json:"stable"`
	Canary Workload `yaml:"canary" json:"canary"`
	// Router is the split router (auto, smi, gateway, linkerd); empty means auto.
	Router string `yaml:"router,omitempty" json:"router,omitempty"`
	// Steps are the canary weights in percent, ending at 100. Either Steps or StepWeight.
	Steps []int `yaml:"steps,omitempty" json:"steps,omitempty"`
	// StepWeight and MaxWeight generate steps StepWeight, 2*StepWeight, ... up to MaxWeight
	// (100 by default, the last step clamped to it).
	StepWeight int `yaml:"stepWeight,omitempty" json:"stepWeight,omitempty"`
	MaxWeight  int `yaml:"maxWeight,omitempty" json:"maxWeight,omitempty"`
	// Interval is how often analysis runs, and the shortest time spent at a step.
	Interval time.Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// ScrapeInterval is how often Prometheus scrapes the proxies (linkerd-viz: 10s). Rate and
	// quantile queries never use a window shorter than three scrapes.
	ScrapeInterval time.Duration `yaml:"scrapeInterval,omitempty" json:"scrapeInterval,omitempty"`
	// MinRequests is how many canary requests a step must see before it can pass.
	MinRequests int `yaml:"minRequests,omitempty" json:"minRequests,omitempty"`
	// Deadline bounds the whole rollout; past it the canary is rolled back and the run ends
	// undecided (exit 4).
	Deadline time.Duration `yaml:"deadline,omitempty" json:"deadline,omitempty"`
	// Gates are weights at which the rollout pauses, after the step's analysis passed, until
	// someone runs `trafficctl canary promote`.
	Gates []int `yaml:"gates,omitempty" json:"gates,omitempty"`
	// Prometheus is the metrics backend's URL.
	Prometheus string `yaml:"prometheus" json:"prometheus"`
	// Metrics are the checks; empty means the built-in success rate (min 99 %).
	Metrics []Metric `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	// OnNoData and OnBackendDown say what to do without a verdict: hold or rollback.
	OnNoData      Action `yaml:"onNoData,omitempty" json:"onNoData,omitempty"`
	OnBackendDown Action `yaml:"onBackendDown,omitempty" json:"onBackendDown,omitempty"`
}

// Metric is one check.
type Metric struct {
	Name string     `yaml:"name" json:"name"`
	Type MetricType `yaml:"type" json:"type"`
	// Min is the lowest acceptable value: the success rate in percent, or a custom value.
	Min *float64 `yaml:"min,omitempty" json:"min,omitempty"`
	// Max is the highest acceptable value: latency in ms, or a custom value.
	Max *float64 `yaml:"max,omitempty" json:"max,omitempty"`
	// MaxRatio bounds the canary's latency quantile relative to the stable version's.
	MaxRatio float64 `yaml:"maxRatio,omitempty" json:"maxRatio,omitempty"`
	// Quantile for latency (0.99 by default).
	Quantile float64 `yaml:"quantile,omitempty" json:"quantile,omitempty"`
	// Query is a custom PromQL template with {{namespace}}, {{deployment}} and {{window}}.
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
}

// ParseFile reads and validates a spec file.
func ParseFile(path string) (*Canary, error) {
	data, err := limits.ReadFile(path, limits.File)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes one Canary document strictly (unknown fields and wrong types are errors with
// their line number), applies defaults and validates it.
func Parse(data []byte) (*Canary, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidSpec, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%w: line %d: more than one document; put one Canary per file", ErrInvalidSpec, extra.Line)
	}
	var c Canary
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&c); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
		return nil, fmt.Errorf("%w: %s", ErrInvalidSpec, strings.ReplaceAll(msg, "\n  ", "; "))
	}
	c.Default()
	if errs := c.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			if line := lineOf(&root, e.Path); line > 0 {
				msgs[i] = fmt.Sprintf("line %d: %s: %s", line, e.Path, e.Msg)
			} else {
				msgs[i] = fmt.Sprintf("%s: %s", e.Path, e.Msg)
			}
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidSpec, strings.Join(msgs, "; "))
	}
	return &c, nil
}

// Default fills the fields a spec left out.
func (c *Canary) Default() {
	s := &c.Spec
	if len(s.Steps) == 0 && s.StepWeight > 0 && s.MaxWeight == 0 {
		s.MaxWeight = 100
	}
	if len(s.Steps) == 0 && s.StepWeight == 0 {
		s.Steps = append([]int(nil), DefaultSteps...)
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.ScrapeInterval == 0 {
		s.ScrapeInterval = DefaultScrape
	}
	if s.MinRequests == 0 {
		s.MinRequests = DefaultMinRequests
	}
	if s.Deadline == 0 {
		s.Deadline = DefaultDeadline
	}
	if s.OnNoData == "" {
		s.OnNoData = DefaultOnNoData
	}
	if s.OnBackendDown == "" {
		s.OnBackendDown = DefaultOnBackendDown
	}
	if s.Router == "" {
		s.Router = "auto"
	}
	if len(s.Metrics) == 0 {
		minSR := DefaultMinSuccess
		s.Metrics = []Metric{{Name: "success-rate", Type: MetricSuccessRate, Min: &minSR}}
	}
	for i := range s.Metrics {
		m := &s.Metrics[i]
		if m.Type == MetricLatency && m.Quantile == 0 {
			m.Quantile = DefaultQuantile
		}
	}
}

// FieldError is one validation failure, located by its dotted path (spec.steps[2]).
type FieldError struct {
	Path string
	Msg  string
}

// Validate checks a defaulted spec and returns every problem found.
func (c *Canary) Validate() []FieldError {
	var errs fieldErrors
	c.validateMeta(&errs)
	s := &c.Spec
	s.validateTargets(&errs)
	s.validateSteps(&errs)
	c.validateAnalysis(&errs)
	s.validateMetrics(&errs)
	return errs
}

// fieldErrors collects the problems Validate finds, phase by phase.
type fieldErrors []FieldError

func (e *fieldErrors) add(path, format string, args ...any) {
	*e = append(*e, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// name checks a required name with one of apimachinery's validation functions:
// validation.IsDNS1035Label for Services and the Canary, IsDNS1123Subdomain for Deployments.
func (e *fieldErrors) name(path, v string, valid func(string) []string) {
	if v == "" {
		e.add(path, "required")
		return
	}
	if msgs := valid(v); len(msgs) > 0 {
		e.add(path, "%q is not a valid name: %s", v, msgs[0])
	}
}

// validateMeta checks apiVersion, kind and metadata.
func (c *Canary) validateMeta(errs *fieldErrors) {
	if c.APIVersion != APIVersion {
		errs.add("apiVersion", "must be %s, got %q", APIVersion, c.APIVersion)
	}
	if c.Kind != Kind {
		errs.add("kind", "must be %s, got %q", Kind, c.Kind)
	}
	errs.name("metadata.name", c.Metadata.Name, validation.IsDNS1035Label)
	if c.Metadata.Namespace != "" {
		if msgs := validation.IsDNS1123Label(c.Metadata.Namespace); len(msgs) > 0 {
			errs.add("metadata.namespace", "%q is not a valid namespace: %s", c.Metadata.Namespace, msgs[0])
		}
	}
}

// validateTargets checks the apex, stable and canary Services and Deployments, and the router.
func (s *Spec) validateTargets(errs *fieldErrors) {
	errs.name("spec.apex", s.Apex, validation.IsDNS1035Label)
	errs.name("spec.stable.service", s.Stable.Service, validation.IsDNS1035Label)
	errs.name("spec.canary.service", s.Canary.Service, validation.IsDNS1035Label)
	errs.name("spec.stable.deployment", s.Stable.Deployment, validation.IsDNS1123Subdomain)
	errs.name("spec.canary.deployment", s.Canary.Deployment, validation.IsDNS1123Subdomain)
	if s.Stable.Service != "" && s.Stable.Service == s.Canary.Service {
		errs.add("spec.canary.service", "must differ from spec.stable.service")
	}
	if s.Stable.Deployment != "" && s.Stable.Deployment == s.Canary.Deployment {
		errs.add("spec.canary.deployment", "must differ from spec.stable.deployment")
	}
	if s.Apex != "" && (s.Apex == s.Stable.Service || s.Apex == s.Canary.Service) {
		errs.add("spec.apex", "must differ from the stable and canary Services")
	}
	switch s.Router {
	case "auto", "smi", "gateway", "linkerd":
	default:
		errs.add("spec.router", "must be one of auto, smi, gateway, linkerd, got %q", s.Router)
	}
}

// validateSteps checks steps, or stepWeight and maxWeight.
func (s *Spec) validateSteps(errs *fieldErrors) {
	switch {
	case len(s.Steps) > 0 && (s.StepWeight != 0 || s.MaxWeight != 0):
		errs.add("spec.steps", "give either steps or stepWeight/maxWeight, not both")
	case len(s.Steps) > 0:
		prev := 0
		for i, w := range s.Steps {
			if w <= prev || w > 100 {
				errs.add(fmt.Sprintf("spec.steps[%d]", i), "weights must increase strictly within 1..100, got %d after %d", w, prev)
				break
			}
			prev = w
		}
		if last := s.Steps[len(s.Steps)-1]; last != 100 {
			errs.add("spec.steps", "must end at 100 (full promotion), got %d", last)
		}
	default:
		if s.StepWeight < 1 || s.StepWeight > 100 {
			errs.add("spec.stepWeight", "must be within 1..100, got %d", s.StepWeight)
		}
		if s.MaxWeight != 100 {
			errs.add("spec.maxWeight", "must be 100 so that the steps end at full promotion, got %d", s.MaxWeight)
		}
	}
}

// validateAnalysis checks the timing, gates, Prometheus URL and the actions on missing data.
func (c *Canary) validateAnalysis(errs *fieldErrors) {
	s := &c.Spec
	if s.Interval < time.Second {
		errs.add("spec.interval", "must be at least 1s, got %s", s.Interval)
	}
	if s.ScrapeInterval < time.Second {
		errs.add("spec.scrapeInterval", "must be at least 1s, got %s", s.ScrapeInterval)
	}
	if err := validate.IntBetween(int64(s.MinRequests), 1, MaxMinRequests); err != nil {
		errs.add("spec.minRequests", "%v", err)
	}
	if s.Deadline < s.Interval {
		errs.add("spec.deadline", "must be at least one interval (%s), got %s", s.Interval, s.Deadline)
	}
	steps := c.StepsOrNil()
	for i, g := range s.Gates {
		if !containsInt(steps, g) {
			errs.add(fmt.Sprintf("spec.gates[%d]", i), "gate %d is not one of the steps %v", g, steps)
		}
	}
	if s.Prometheus == "" {
		errs.add("spec.prometheus", "required: the Prometheus URL, e.g. http://prometheus.linkerd-viz.svc:9090")
	} else if !strings.HasPrefix(s.Prometheus, "http://") && !strings.HasPrefix(s.Prometheus, "https://") {
		errs.add("spec.prometheus", "must be an http:// or https:// URL, got %q", s.Prometheus)
	}
	for _, a := range []struct {
		path string
		v    Action
	}{{"spec.onNoData", s.OnNoData}, {"spec.onBackendDown", s.OnBackendDown}} {
		if a.v != ActionHold && a.v != ActionRollback {
			errs.add(a.path, "must be hold or rollback (never promote), got %q", a.v)
		}
	}
}

// validateMetrics checks that metric names are unique and each metric's fields fit its type.
func (s *Spec) validateMetrics(errs *fieldErrors) {
	names := map[string]bool{}
	for i, m := range s.Metrics {
		p := fmt.Sprintf("spec.metrics[%d]", i)
		if m.Name == "" {
			errs.add(p+".name", "required")
		} else if names[m.Name] {
			errs.add(p+".name", "duplicate metric name %q", m.Name)
		}
		names[m.Name] = true
		m.validate(p, errs)
		if m.Min != nil && m.Max != nil && *m.Min > *m.Max {
			errs.add(p, "min %g is above max %g", *m.Min, *m.Max)
		}
	}
}

// validate checks the fields of one metric, at path p, against its type.
func (m *Metric) validate(p string, errs *fieldErrors) {
	switch m.Type {
	case MetricSuccessRate:
		if m.Min == nil {
			errs.add(p+".min", "success-rate needs min, a percentage strictly between 0 and 100")
		} else if err := validate.Open(*m.Min, 0, 100); err != nil {
			errs.add(p+".min", "success-rate min is a percentage: %v", err)
		}
		if m.Max != nil || m.MaxRatio != 0 || m.Query != "" {
			errs.add(p, "success-rate takes only min")
		}
	case MetricLatency:
		m.validateLatency(p, errs)
	case MetricCustom:
		m.validateCustom(p, errs)
	default:
		errs.add(p+".type", "must be success-rate, latency or custom, got %q", m.Type)
	}
}

func (m *Metric) validateLatency(p string, errs *fieldErrors) {
	if m.Max == nil && m.MaxRatio == 0 {
		errs.add(p, "latency needs max (ms) or maxRatio (vs stable), or both")
	}
	if m.Max != nil {
		if err := validate.Open(*m.Max, 0, MaxLatencyMs); err != nil {
			errs.add(p+".max", "%v", err)
		}
	}
	if m.MaxRatio != 0 {
		if err := validate.Between(m.MaxRatio, 1, MaxLatencyRatio); err != nil {
			errs.add(p+".maxRatio", "%v", err)
		}
	}
	if err := validate.Open(m.Quantile, 0, 1); err != nil {
		errs.add(p+".quantile", "%v", err)
	}
	if m.Min != nil || m.Query != "" {
		errs.add(p, "latency takes only max, maxRatio and quantile")
	}
}

func (m *Metric) validateCustom(p string, errs *fieldErrors) {
	if strings.TrimSpace(m.Query) == "" {
		errs.add(p+".query", "custom needs a PromQL query")
	}
	if m.Min == nil && m.Max == nil {
		errs.add(p, "custom needs min or max")
	}
	if m.MaxRatio != 0 || m.Quantile != 0 {
		errs.add(p, "custom takes only query, min and max")
	}
	for _, b := range []struct {
		field string
		v     *float64
	}{{".min", m.Min}, {".max", m.Max}} {
		if b.v != nil {
			if err := validate.Finite(*b.v); err != nil {
				errs.add(p+b.field, "%v", err)
			}
		}
	}
}

// StepsOrNil returns the canary weights the rollout goes through, ending at 100, or nil when
// the spec's step fields are invalid.
func (c *Canary) StepsOrNil() []int {
	s := &c.Spec
	if len(s.Steps) > 0 {
		return s.Steps
	}
	if s.StepWeight < 1 || s.StepWeight > 100 || s.MaxWeight < s.StepWeight || s.MaxWeight > 100 {
		return nil
	}
	var out []int
	for w := s.StepWeight; ; w += s.StepWeight {
		if w >= s.MaxWeight {
			return append(out, s.MaxWeight)
		}
		out = append(out, w)
	}
}

// Steps returns the validated spec's weights.
func (c *Canary) Steps() []int { return c.StepsOrNil() }

// QueryWindow is the window for rate and quantile queries at elapsed time into a step: the
// step so far, but never fewer than three scrapes (a rate needs two samples).
func (c *Canary) QueryWindow(elapsed time.Duration) time.Duration {
	if floor := 3 * c.Spec.ScrapeInterval; elapsed < floor {
		return floor
	}
	return elapsed
}

// Gate reports whether the rollout pauses for approval at weight w.
func (c *Canary) Gate(w int) bool { return containsInt(c.Spec.Gates, w) }

// Namespace returns the spec's namespace or def when the spec names none.
func (c *Canary) Namespace(def string) string {
	if c.Metadata.Namespace != "" {
		return c.Metadata.Namespace
	}
	return def
}

// Hash identifies the spec's content: the audit log records it with every decision, and a run
// refuses to resume a rollout that another spec started.
func (c *Canary) Hash() string {
	b, _ := json.Marshal(c) // plain structs: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// lineOf finds the line of a dotted path like spec.steps[2] or spec.metrics[0].min in the
// document, falling back to the nearest existing parent.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range splitPath(path) {
		next := child(n, part)
		if next == nil {
			return line
		}
		n = next
		line = n.Line
	}
	return line
}

func splitPath(path string) []string {
	var parts []string
	for _, p := range strings.Split(path, ".") {
		for {
			i := strings.IndexByte(p, '[')
			if i < 0 {
				break
			}
			if i > 0 {
				parts = append(parts, p[:i])
			}
			j := strings.IndexByte(p, ']')
			if j < i {
				break
			}
			parts = append(parts, p[i:j+1])
			p = p[j+1:]
		}
		if p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

func child(n *yaml.Node, part string) *yaml.Node {
	if strings.HasPrefix(part, "[") {
		var i int
		if _, err := fmt.Sscanf(part, "[%d]", &i); err != nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
			return nil
		}
		return n.Content[i]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == part {
			return n.Content[i+1]
		}
	}
	return nil
}
