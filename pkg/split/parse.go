package split

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxWeight is the largest weight trafficctl accepts: the Gateway API's limit for a
// backendRef weight, so one set of weights works with every router.
const MaxWeight = 1_000_000

// ParseBackends parses the command line's "NAME=WEIGHT" arguments (web-v1=90 web-v2=10).
// Names must be Service names, weights non-negative base-10 integers up to MaxWeight, each
// name once, and the total positive. Errors match ErrInvalid.
func ParseBackends(args []string) ([]Backend, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: no backends given: pass SERVICE=WEIGHT pairs such as web-v1=90 web-v2=10", ErrInvalid)
	}
	out := make([]Backend, 0, len(args))
	for _, arg := range args {
		name, w, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not SERVICE=WEIGHT (for example web-v2=10)", ErrInvalid, arg)
		}
		if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
			return nil, fmt.Errorf("%w: %q is not a Service name: %s", ErrInvalid, name, errs[0])
		}
		weight, err := strconv.ParseInt(w, 10, 64)
		if err != nil || w[0] == '+' {
			return nil, fmt.Errorf("%w: weight %q of %s is not a whole number (use an integer such as %s=10)", ErrInvalid, w, name, name)
		}
		out = append(out, Backend{Service: name, Weight: weight})
	}
	if err := ValidateWeights(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ValidateWeights checks a set of backends without the cluster: names given once, weights
// between 0 and MaxWeight, and a positive total (all zero would send traffic nowhere).
func ValidateWeights(bs []Backend) error {
	if len(bs) == 0 {
		return fmt.Errorf("%w: no backends given", ErrInvalid)
	}
	seen := map[string]bool{}
	total := int64(0)
	for _, b := range bs {
		if seen[b.Service] {
			return fmt.Errorf("%w: backend %s given twice", ErrInvalid, b.Service)
		}
		seen[b.Service] = true
		if b.Weight < 0 {
			return fmt.Errorf("%w: weight of %s is negative (%d): weights are 0 or more", ErrInvalid, b.Service, b.Weight)
		}
		if b.Weight > MaxWeight {
			return fmt.Errorf("%w: weight of %s is %d, above the limit of %d: only the proportions matter, use smaller numbers", ErrInvalid, b.Service, b.Weight, MaxWeight)
		}
		total += b.Weight
	}
	if total == 0 {
		return fmt.Errorf("%w: all weights are 0: give at least one backend a positive weight", ErrInvalid)
	}
	return nil
}

// ParseHeader parses --header NAME=VALUE (x-canary=true) into an exact header match.
func ParseHeader(s string) (HeaderMatch, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" || value == "" {
		return HeaderMatch{}, fmt.Errorf("%w: --header %q is not NAME=VALUE (for example x-canary=true)", ErrInvalid, s)
	}
	if errs := validation.IsHTTPHeaderName(name); len(errs) > 0 || len(name) > 256 {
		return HeaderMatch{}, fmt.Errorf("%w: --header name %q is not a valid HTTP header name", ErrInvalid, name)
	}
	if len(value) > 4096 || strings.ContainsAny(value, "\r\n\x00") {
		return HeaderMatch{}, fmt.Errorf("%w: --header value %q is not a valid HTTP header value", ErrInvalid, value)
	}
	return HeaderMatch{Name: strings.ToLower(name), Value: value}, nil
}
