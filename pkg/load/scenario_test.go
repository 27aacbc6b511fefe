package load

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const demoScenario = `name: emojivoto
targets:
  - name: list
    url: http://127.0.0.1:8080/api/list
    weight: 60
  - name: vote
    method: POST
    url: "http://127.0.0.1:8080/api/vote?choice=:joy:"
    weight: 30
  - name: leaderboard
    url: http://127.0.0.1:8080/api/leaderboard
    weight: 10
stages:
  - {name: warm-up, type: ramp, from: 10, to: 100, duration: 10s}
  - {type: constant, rate: 100, duration: 30s}
  - {type: step, from: 100, to: 400, steps: 4, duration: 40s}
  - {type: sine, mean: 200, amplitude: 100, period: 20s, duration: 40s}
thresholds:
  p99: 100ms
  minSuccess: 99.9
`

func TestParseScenario(t *testing.T) {
	sc, err := ParseScenario([]byte(demoScenario), ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Targets) != 3 || len(sc.Stages) != 4 || sc.Thresholds.P99 != 100*time.Millisecond || sc.Stages[0].Duration != 10*time.Second {
		t.Fatalf("parsed %+v", sc)
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "the file is empty"},
		{"unknown field", "targets: [{url: http://h/}]\nstages: [{type: constant, rate: 1, duration: 1s}]\nbogus: 1\n", "line 3: field bogus not found"},
		{"syntax", "targets: [\n", "line"},
		{"bad duration", "targets: [{url: http://h/}]\nstages:\n  - {type: constant, rate: 1, duration: soon}\n", "line 3"},
		{"no stages", "targets: [{url: http://h/}]\n", "no stages"},
		{"no targets", "stages: [{type: constant, rate: 1, duration: 1s}]\n", "no targets"},
		{"bad stage names line", "targets: [{url: http://h/}]\nstages:\n  - {type: constant, rate: 1, duration: 1s}\n  - {type: ramp, duration: 1s}\n", "line 4: stage 2: ramp stage needs from or to > 0"},
		{"unknown stage type", "targets: [{url: http://h/}]\nstages:\n  - {type: spike, duration: 1s}\n", "line 3: stage 1: unknown stage type \"spike\""},
		{"sine amplitude", "targets: [{url: http://h/}]\nstages:\n  - {type: sine, mean: 10, amplitude: 20, period: 1s, duration: 1s}\n", "line 3: stage 1: sine stage needs"},
		{"target without url", "targets:\n  - {url: http://h/}\n  - {name: x}\nstages: [{type: constant, rate: 1, duration: 1s}]\n", "line 3: target 2 has no url"},
		{"bad target url", "targets:\n  - {url: /relative}\nstages: [{type: constant, rate: 1, duration: 1s}]\n", "line 2: target 1"},
		{"importPaths without protos", "targets: [{url: http://h/}]\nstages: [{type: constant, rate: 1, duration: 1s}]\nimportPaths: [proto]\n", "line 3: importPaths without protos"},
		{"protos missing", "targets: [{url: http://h/}]\nstages: [{type: constant, rate: 1, duration: 1s}]\nprotos: [nope.proto]\n", "line 3: protos: bad proto: stat nope.proto"},
		{"grpc method not in the protos", "targets:\n  - {url: http://h/}\n  - {url: grpc://h:1/grpc.health.v1.Health/Chek}\nstages: [{type: constant, rate: 1, duration: 1s}]\nprotos: [testdata/proto/grpc/health/v1/health.proto]\n",
			"line 3: target 2: bad target: GRPC grpc://h:1/grpc.health.v1.Health/Chek: method /grpc.health.v1.Health/Chek is not in testdata/proto/grpc/health/v1/health.proto: services found: grpc.health.v1.Health (Check, Watch)"},
		{"CRLF in a target header", "targets:\n  - {url: http://h/, headers: {X-A: \"1\\r\\nGET /admin HTTP/1.1\"}}\nstages: [{type: constant, rate: 1, duration: 1s}]\n", "line 2: target 1: bad target: GET http://h/: invalid value \"1\\r\\nGET /admin HTTP/1.1\" of header X-A"},
		{"LF in a scenario header", "headers: {X-A: \"1\\nX-B: 2\"}\ntargets: [{url: http://h/}]\nstages: [{type: constant, rate: 1, duration: 1s}]\n", "invalid value"},
		{"bad header name", "targets:\n  - {url: http://h/, headers: {\"X A\": 1}}\nstages: [{type: constant, rate: 1, duration: 1s}]\n", "invalid header name \"X A\""},
		{"CRLF in Host", "targets:\n  - {url: http://h/, headers: {Host: \"h\\r\\nX: 1\"}}\nstages: [{type: constant, rate: 1, duration: 1s}]\n", "invalid value"},
		{"constant rate 1e12", "targets: [{url: http://h/}]\nstages:\n  - {type: constant, rate: 1e12, duration: 1s}\n", "line 3: stage 1: rate must be at most 1e+06 (requests per second), got 1e+12"},
		{"ramp to 1e12", "targets: [{url: http://h/}]\nstages:\n  - {type: ramp, from: 1, to: 1e12, duration: 1s}\n", "to must be at most 1e+06"},
		{"step to 1e10", "targets: [{url: http://h/}]\nstages:\n  - {type: step, from: 1, to: 1e10, steps: 2, duration: 1s}\n", "to must be at most 1e+06"},
		{"sine above the bound", "targets: [{url: http://h/}]\nstages:\n  - {type: sine, mean: 9e5, amplitude: 5e5, period: 1s, duration: 1s}\n", "mean + amplitude must be at most 1e+06"},
		{"sine amplitude NaN", "targets: [{url: http://h/}]\nstages:\n  - {type: sine, mean: 10, amplitude: .nan, period: 1s, duration: 1s}\n", "got NaN"},
		{"bad success", "targets: [{url: http://h/}]\nstages: [{type: constant, rate: 1, duration: 1s}]\nthresholds:\n  minSuccess: 120\n", "line 4: thresholds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.in), ".")
			if err == nil || !errors.Is(err, ErrBadScenario) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStagesPacerSchedule(t *testing.T) {
	tests := []struct {
		name  string
		stage Stage
		hits  float64
	}{
		{"constant", Stage{Kind: StageConstant, Rate: 100, Duration: 2 * time.Second}, 200},
		{"ramp", Stage{Kind: StageRamp, From: 0, To: 100, Duration: 2 * time.Second}, 100},
		{"ramp down", Stage{Kind: StageRamp, From: 100, To: 0, Duration: 2 * time.Second}, 100},
		{"step", Stage{Kind: StageStep, From: 100, To: 400, Steps: 4, Duration: 4 * time.Second}, 1000},
		{"sine full periods", Stage{Kind: StageSine, Mean: 100, Amplitude: 50, Period: time.Second, Duration: 2 * time.Second}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewStagesPacer([]Stage{tt.stage})
			if err != nil {
				t.Fatal(err)
			}
			var sched, prev time.Duration
			n := uint64(0)
			for ; ; n++ {
				wait, stop := p.Pace(sched, n)
				if stop {
					break
				}
				sched += wait
				if sched < prev {
					t.Fatalf("hit %d scheduled before hit %d", n, n-1)
				}
				prev = sched
			}
			if got := float64(n); got < tt.hits-1 || got > tt.hits+1 {
				t.Errorf("scheduled %v hits, want %v", got, tt.hits)
			}
			if sched > tt.stage.Duration {
				t.Errorf("last hit at %v, after the stage's %v", sched, tt.stage.Duration)
			}
		})
	}
}

func TestRunScenarioBreakdownsAndThresholds(t *testing.T) {
	skipShort(t)
	srv := startServer(t, serverSpec{delay: 20 * time.Millisecond, errEvery: 20})
	in := strings.ReplaceAll(`targets:
  - {name: list, url: URL/api/list, weight: 60}
  - {name: vote, url: URL/api/vote, weight: 30, method: POST, body: "{}"}
  - {name: leaderboard, url: URL/api/leaderboard, weight: 10}
stages:
  - {name: ramp, type: ramp, from: 50, to: 150, duration: 1s}
  - {name: steady, type: constant, rate: 100, duration: 1s}
thresholds:
  p99: 1s
  minSuccess: 99
`, "URL", srv.URL)
	sc, err := ParseScenario([]byte(in), ".")
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunScenario(context.Background(), NewAttacker(), sc, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Total.Requests; n < 195 || n > 201 {
		t.Errorf("total requests %d, want 200", n)
	}
	if a, b := res.Stages[0].Report.Requests, res.Stages[1].Report.Requests; a < 95 || a > 101 || b < 95 || b > 101 {
		t.Errorf("stage requests %d, %d; want 100 each", a, b)
	}
	list, vote, lb := res.Targets[0].Report.Requests, res.Targets[1].Report.Requests, res.Targets[2].Report.Requests
	if list < 115 || list > 125 || vote < 55 || vote > 65 || lb < 15 || lb > 25 {
		t.Errorf("target split %d/%d/%d, want 60/30/10 %%", list, vote, lb)
	}
	// One request in 20 fails: 95 % success breaches the 99 % threshold; p99 passes.
	if res.Passed || len(res.Thresholds) != 2 || !res.Thresholds[0].Passed || res.Thresholds[1].Passed {
		t.Errorf("thresholds %+v passed=%v, want p99 ok and success breached", res.Thresholds, res.Passed)
	}
}

func FuzzParseScenario(f *testing.F) {
	f.Add(demoScenario)
	f.Add("targets: [{url: http://h/}]\nstages: [{type: step, from: 1, to: 9, steps: 3, duration: 3s}]\n")
	f.Add("targets: [{url: http://h/, weight: -1}]\n")
	f.Add("stages: [{type: sine, mean: 1, amplitude: 1, period: 1ns, duration: 1h}]\n")
	f.Add("targets: [{url: grpc://h:1/grpc.health.v1.Health/Check, body: '{}'}]\nstages: [{type: constant, rate: 1, duration: 1s}]\nprotos: [testdata/proto/api/probe.proto]\nimportPaths: [testdata/proto]\n")
	f.Add("targets: [{url: grpc://h:1/a.B/C}]\nstages: [{type: constant, rate: 1, duration: 1s}]\nprotos: [testdata/proto/api/broken.proto]\n")
	f.Fuzz(func(t *testing.T, in string) {
		sc, err := ParseScenario([]byte(in), ".")
		if err != nil {
			if !errors.Is(err, ErrBadScenario) {
				t.Fatalf("error %v does not wrap ErrBadScenario", err)
			}
			return
		}
		if _, err := sc.TargetSet(); err != nil {
			t.Fatalf("accepted scenario has bad targets: %v", err)
		}
		if _, err := NewStagesPacer(sc.Stages); err != nil {
			t.Fatalf("accepted scenario has bad stages: %v", err)
		}
	})
}
