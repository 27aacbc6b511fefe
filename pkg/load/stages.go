package load

import (
	"fmt"
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Stage kinds.
const (
	StageConstant = "constant"
	StageRamp     = "ramp"
	StageStep     = "step"
	StageSine     = "sine"
)

// Stage is one phase of a scenario's load profile. Rates are requests per second.
type Stage struct {
	Name     string        `yaml:"name" json:"name"`
	Kind     string        `yaml:"type" json:"type"`
	Duration time.Duration `yaml:"duration" json:"duration"`
	// Rate is the constant stage's rate.
	Rate float64 `yaml:"rate" json:"rate,omitempty"`
	// From and To bound a ramp (linear) or a step stage (Steps equal plateaus from From to To).
	From  float64 `yaml:"from" json:"from,omitempty"`
	To    float64 `yaml:"to" json:"to,omitempty"`
	Steps int     `yaml:"steps" json:"steps,omitempty"`
	// Mean, Amplitude and Period shape a sine stage: Mean + Amplitude*sin(2πt/Period).
	Mean      float64       `yaml:"mean" json:"mean,omitempty"`
	Amplitude float64       `yaml:"amplitude" json:"amplitude,omitempty"`
	Period    time.Duration `yaml:"period" json:"period,omitempty"`
}

// Validate checks the stage's fields for its kind.
func (s *Stage) Validate() error {
	if s.Duration <= 0 {
		return fmt.Errorf("duration must be positive, e.g. 30s")
	}
	neg := func(name string, v float64) error {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s must be a rate >= 0 (requests per second), got %v", name, v)
		}
		if v > MaxRate {
			return fmt.Errorf("%s must be at most %g (requests per second), got %g", name, float64(MaxRate), v)
		}
		return nil
	}
	switch s.Kind {
	case StageConstant:
		if s.Rate <= 0 || math.IsInf(s.Rate, 0) || math.IsNaN(s.Rate) {
			return fmt.Errorf("constant stage needs rate > 0 (requests per second)")
		}
		if err := neg("rate", s.Rate); err != nil {
			return err
		}
	case StageRamp:
		if err := neg("from", s.From); err != nil {
			return err
		}
		if err := neg("to", s.To); err != nil {
			return err
		}
		if s.From == 0 && s.To == 0 {
			return fmt.Errorf("ramp stage needs from or to > 0")
		}
	case StageStep:
		if err := neg("from", s.From); err != nil {
			return err
		}
		if err := neg("to", s.To); err != nil {
			return err
		}
		if s.Steps < 1 || s.Steps > 1000 {
			return fmt.Errorf("step stage needs steps between 1 and 1000")
		}
		if s.From == 0 && s.To == 0 {
			return fmt.Errorf("step stage needs from or to > 0")
		}
	case StageSine:
		if err := neg("mean", s.Mean); err != nil {
			return err
		}
		if err := neg("mean + amplitude", s.Mean+s.Amplitude); err != nil {
			return err
		}
		if s.Mean <= 0 || s.Amplitude < 0 || s.Amplitude > s.Mean {
			return fmt.Errorf("sine stage needs mean > 0 and 0 <= amplitude <= mean")
		}
		if s.Period <= 0 {
			return fmt.Errorf("sine stage needs a positive period, e.g. 20s")
		}
	case "":
		return fmt.Errorf("stage needs a type: one of constant, ramp, step, sine")
	default:
		return fmt.Errorf("unknown stage type %q: use one of constant, ramp, step, sine", s.Kind)
	}
	return nil
}

// segment is a piece of the profile whose cumulative hits have a closed form (or, for sine, a
// monotone one): rate r0 + (r1-r0)·t/d, plus amp·sin(2πt/period).
type segment struct {
	start, d    float64 // seconds
	r0, r1      float64
	amp, period float64
	hitsBefore  float64
	hitsInStage float64
	stage       int
}

func (g *segment) hits(t float64) float64 {
	h := g.r0*t + (g.r1-g.r0)*t*t/(2*g.d)
	if g.amp > 0 {
		w := 2 * math.Pi / g.period
		h += g.amp / w * (1 - math.Cos(w*t))
	}
	return h
}

func (g *segment) rate(t float64) float64 {
	r := g.r0 + (g.r1-g.r0)*t/g.d
	if g.amp > 0 {
		r += g.amp * math.Sin(2*math.Pi*t/g.period)
	}
	return r
}

// inverse is the local time at which x hits have been sent in the segment (0 <= x <= total).
func (g *segment) inverse(x float64) float64 {
	if g.amp == 0 {
		a := (g.r1 - g.r0) / (2 * g.d)
		if math.Abs(a) < 1e-12 {
			return x / g.r0
		}
		disc := math.Max(g.r0*g.r0+4*a*x, 0)
		return (-g.r0 + math.Sqrt(disc)) / (2 * a)
	}
	lo, hi := 0.0, g.d
	for range 64 {
		mid := (lo + hi) / 2
		if g.hits(mid) < x {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// StagesPacer is a vegeta Pacer running stages back to back. Hit n leaves when the profile's
// cumulative hits reach n+1, as with vegeta's own pacers, so the schedule is exact whatever
// the shape.
type StagesPacer struct {
	segs  []segment
	total float64
	hits  float64
	names []string
}

var _ vegeta.Pacer = (*StagesPacer)(nil)

// NewStagesPacer builds the pacer; stages must be valid.
func NewStagesPacer(stages []Stage) (*StagesPacer, error) {
	p := &StagesPacer{}
	start := 0.0
	add := func(g segment) {
		g.start = start
		g.hitsBefore = p.hits
		g.hitsInStage = g.hits(g.d)
		p.hits += g.hitsInStage
		start += g.d
		p.segs = append(p.segs, g)
	}
	for i, s := range stages {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("stage %d: %w", i+1, err)
		}
		d := s.Duration.Seconds()
		switch s.Kind {
		case StageConstant:
			add(segment{d: d, r0: s.Rate, r1: s.Rate, stage: i})
		case StageRamp:
			add(segment{d: d, r0: s.From, r1: s.To, stage: i})
		case StageStep:
			for k := range s.Steps {
				r := s.From
				if s.Steps > 1 {
					r = s.From + (s.To-s.From)*float64(k)/float64(s.Steps-1)
				}
				add(segment{d: d / float64(s.Steps), r0: r, r1: r, stage: i})
			}
		case StageSine:
			add(segment{d: d, r0: s.Mean, r1: s.Mean, amp: s.Amplitude, period: s.Period.Seconds(), stage: i})
		}
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("%d-%s", i+1, s.Kind)
		}
		p.names = append(p.names, name)
	}
	p.total = start
	return p, nil
}

// Duration is the length of the whole profile.
func (p *StagesPacer) Duration() time.Duration { return time.Duration(p.total * float64(time.Second)) }

// StageNames names the stages in order ("N-type" for unnamed ones).
func (p *StagesPacer) StageNames() []string { return p.names }

// StageAt is the index of the stage running at offset.
func (p *StagesPacer) StageAt(offset time.Duration) int {
	t := offset.Seconds()
	for _, g := range p.segs {
		if t < g.start+g.d {
			return g.stage
		}
	}
	return p.segs[len(p.segs)-1].stage
}

func (p *StagesPacer) hitsAt(t float64) float64 {
	for _, g := range p.segs {
		if t < g.start+g.d {
			return g.hitsBefore + g.hits(t-g.start)
		}
	}
	return p.hits
}

// Pace implements vegeta.Pacer.
func (p *StagesPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	want := float64(hits + 1)
	if want > p.hits+1e-9 {
		return 0, true
	}
	t := elapsed.Seconds()
	if float64(hits) < p.hitsAt(t)-1 {
		// Running behind, send next hit immediately.
		return 0, false
	}
	for _, g := range p.segs {
		if want <= g.hitsBefore+g.hitsInStage+1e-9 && g.hitsInStage > 0 {
			at := g.start + g.inverse(want-g.hitsBefore)
			wait := time.Duration((at - t) * float64(time.Second))
			return max(wait, 0), false
		}
	}
	return 0, true
}

// Rate implements vegeta.Pacer: the instantaneous rate at elapsed, in requests per second.
func (p *StagesPacer) Rate(elapsed time.Duration) float64 {
	t := elapsed.Seconds()
	for _, g := range p.segs {
		if t < g.start+g.d {
			return g.rate(t - g.start)
		}
	}
	return 0
}
