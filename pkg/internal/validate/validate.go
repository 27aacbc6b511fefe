// Package validate holds the number checks shared by every parser of user input: finite
// numbers and bounds, with the bound in the message, so that NaN, ±Inf and absurd values are
// rejected where they enter (flags, spec files, scenarios) instead of deep inside a loop.
package validate

import (
	"fmt"
	"math"
)

// Finite returns an error unless f is a finite number (not NaN, not ±Inf).
func Finite(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("must be a finite number, got %g", f)
	}
	return nil
}

// Between returns an error unless f is finite and lo <= f <= hi.
func Between(f, lo, hi float64) error {
	if err := Finite(f); err != nil {
		return err
	}
	if f < lo || f > hi {
		return fmt.Errorf("must be within %g..%g, got %g", lo, hi, f)
	}
	return nil
}

// Open returns an error unless f is finite and lo < f < hi.
func Open(f, lo, hi float64) error {
	if err := Finite(f); err != nil {
		return err
	}
	if f <= lo || f >= hi {
		return fmt.Errorf("must be strictly between %g and %g, got %g", lo, hi, f)
	}
	return nil
}

// AtMost returns an error unless f is finite and f <= hi.
func AtMost(f, hi float64) error {
	if err := Finite(f); err != nil {
		return err
	}
	if f > hi {
		return fmt.Errorf("must be at most %g, got %g", hi, f)
	}
	return nil
}

// IntBetween returns an error unless lo <= n <= hi.
func IntBetween(n, lo, hi int64) error {
	if n < lo || n > hi {
		return fmt.Errorf("must be within %d..%d, got %d", lo, hi, n)
	}
	return nil
}
