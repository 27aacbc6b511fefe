package load

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trafficctl/trafficctl/pkg/internal/validate"
)

// ErrBadRate is wrapped by rate parsing errors.
var ErrBadRate = errors.New("bad rate")

// MaxRate bounds every rate in requests per second (flags, scenario stages): far above what one
// process sends, and below the pacer's limit (beyond 1e9/s the interval between hits is under a
// nanosecond).
const MaxRate = 1e6

// CheckRate says why rps, a rate in requests per second, is not a finite number within
// 0..MaxRate, or nil.
func CheckRate(rps float64) error {
	if err := validate.Between(rps, 0, MaxRate); err != nil {
		return fmt.Errorf("rate %w (requests per second)", err)
	}
	return nil
}

// Unbounded is the rate "max": as fast as the workers go, a closed loop (vegeta's -rate=0).
var Unbounded = vegeta.Rate{}

// ParseRate reads a rate as vegeta writes it: "200/s", "200/1s", "1500/1m", or a bare "200"
// (per second). The rate must be positive.
func ParseRate(s string) (vegeta.Rate, error) {
	freqStr, perStr, found := strings.Cut(strings.TrimSpace(s), "/")
	freq, err := strconv.Atoi(strings.TrimSpace(freqStr))
	if err != nil {
		return vegeta.Rate{}, fmt.Errorf("%w %q: use requests per period, e.g. 200/s", ErrBadRate, s)
	}
	per := time.Second
	if found {
		perStr = strings.TrimSpace(perStr)
		if perStr != "" && (perStr[0] < '0' || perStr[0] > '9') {
			perStr = "1" + perStr
		}
		if per, err = time.ParseDuration(perStr); err != nil {
			return vegeta.Rate{}, fmt.Errorf("%w %q: period %q is not a duration, e.g. 200/s or 1000/1m", ErrBadRate, s, perStr)
		}
	}
	if freq <= 0 || per <= 0 {
		return vegeta.Rate{}, fmt.Errorf("%w %q: must be positive", ErrBadRate, s)
	}
	r := vegeta.Rate{Freq: freq, Per: per}
	if err := CheckRate(PerSecond(r)); err != nil {
		return vegeta.Rate{}, fmt.Errorf("%w %q: %w", ErrBadRate, s, err)
	}
	return r, nil
}

// PerSecond is r in requests per second.
func PerSecond(r vegeta.Rate) float64 { return float64(r.Freq) / r.Per.Seconds() }

// RateOf is the constant pacer for rps requests per second, kept exact for whole rates.
func RateOf(rps float64) vegeta.Rate {
	if rps == float64(int(rps)) {
		return vegeta.Rate{Freq: int(rps), Per: time.Second}
	}
	return vegeta.Rate{Freq: max(int(rps*1000), 1), Per: 1000 * time.Second}
}
