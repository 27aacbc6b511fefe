package load

import (
	"context"
	"fmt"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Progress is a snapshot of a running attack.
type Progress struct {
	Elapsed   time.Duration
	Requests  uint64
	Errors    uint64
	LateSends uint64
}

// RunOptions tunes Run. The zero value runs without encoding or progress.
type RunOptions struct {
	// Name is the attack name written in each result (vegeta's Result.Attack).
	Name string
	// Encoder, when set, receives every result in vegeta's encoding.
	Encoder vegeta.Encoder
	// Progress, when set, is called about once a second.
	Progress func(Progress)
	// Observe, when set, sees every hit after the main report recorded it (per-target or
	// per-stage breakdowns). It must not keep the hit.
	Observe func(*Hit)
}

// Run attacks ts at the pace of p for du and summarises the hits. When ctx is cancelled the
// attack stops at once and Run returns the report of what finished, with ctx's error.
func (a *Attacker) Run(ctx context.Context, ts *TargetSet, p vegeta.Pacer, du time.Duration, o RunOptions) (*Report, error) {
	if err := ts.Prepare(ctx); err != nil {
		return nil, err
	}
	rec := NewRecorder(a.lateThreshold, StepFor(du))
	hits := a.Attack(ctx, ts, p, du, o.Name)
	began := time.Now()
	var (
		prog    Progress
		encErr  error
		tickerC <-chan time.Time
	)
	if o.Progress != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tickerC = t.C
	}
	for done := false; !done; {
		select {
		case h, ok := <-hits:
			if !ok {
				done = true
				break
			}
			rec.Add(h)
			prog.Requests++
			if h.Error != "" {
				prog.Errors++
			}
			if h.Late(a.lateThreshold) {
				prog.LateSends++
			}
			if o.Observe != nil {
				o.Observe(h)
			}
			if o.Encoder != nil && encErr == nil {
				if err := o.Encoder.Encode(&h.Result); err != nil {
					encErr = fmt.Errorf("write results: %w", err)
				}
			}
			h.Release()
		case <-tickerC:
			prog.Elapsed = time.Since(began)
			o.Progress(prog)
		}
	}
	rep := rec.Report()
	if encErr != nil {
		return rep, encErr
	}
	return rep, ctx.Err()
}
