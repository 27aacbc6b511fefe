package migrate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/trafficctl/trafficctl/pkg/profiles"
)

// anyPath is the regex of a condition that names no path.
const anyPath = ".*"

// match is one alternative of a route condition: a whole-path regex and a method ("" = any).
type match struct {
	Regex  string
	Method string
}

// maxAlternatives bounds the alternatives one condition expands to.
const maxAlternatives = 64

// errUnmodelled marks a condition no HTTPRoute match can express.
var errUnmodelled = errors.New("no HTTPRoute equivalent")

// alternatives expands a ServiceProfile route condition into alternatives (an OR of ANDs).
// `not`, and two different pathRegexes ANDed, have no HTTPRoute equivalent.
func alternatives(c *profiles.RequestMatch, depth int) ([]match, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: route without a condition", errUnmodelled)
	}
	if depth > 16 {
		return nil, fmt.Errorf("%w: condition nested too deep", errUnmodelled)
	}
	if len(c.Not) > 0 {
		return nil, fmt.Errorf("%w: a `not` condition", errUnmodelled)
	}
	if c.PathRegex != "" {
		if _, err := regexp.Compile(c.PathRegex); err != nil {
			return nil, fmt.Errorf("pathRegex %q: %w", c.PathRegex, err)
		}
	}
	out := []match{{Regex: orAny(c.PathRegex), Method: strings.ToUpper(c.Method)}}
	var err error
	for i := range c.All {
		var sub []match
		if sub, err = alternatives(&c.All[i], depth+1); err != nil {
			return nil, err
		}
		if out, err = and(out, sub); err != nil {
			return nil, err
		}
	}
	if len(c.Any) > 0 {
		var union []match
		for i := range c.Any {
			sub, err := alternatives(&c.Any[i], depth+1)
			if err != nil {
				return nil, err
			}
			union = append(union, sub...)
		}
		if out, err = and(out, union); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func orAny(re string) string {
	if re == "" {
		return anyPath
	}
	return re
}

// and is the conjunction of two sets of alternatives.
func and(a, b []match) ([]match, error) {
	var out []match
	for _, x := range a {
		for _, y := range b {
			m := x
			switch {
			case y.Method == "" || y.Method == x.Method:
			case x.Method == "":
				m.Method = y.Method
			default:
				continue // two different methods: never both
			}
			switch {
			case y.Regex == anyPath || y.Regex == x.Regex:
			case x.Regex == anyPath:
				m.Regex = y.Regex
			default:
				return nil, fmt.Errorf("%w: two path regexes ANDed (%s and %s)", errUnmodelled, x.Regex, y.Regex)
			}
			out = append(out, m)
			if len(out) > maxAlternatives {
				return nil, fmt.Errorf("%w: more than %d alternatives", errUnmodelled, maxAlternatives)
			}
		}
	}
	return out, nil
}

// grpcPath is the literal path of a gRPC method: /package.Service/Method.
var grpcPath = regexp.MustCompile(`^/([A-Za-z_][A-Za-z0-9_.]*)/([A-Za-z_][A-Za-z0-9_]*)$`)

// grpcMethod returns the service and method a POST alternative with a literal gRPC path names.
func grpcMethod(m match) (service, method string, ok bool) {
	if m.Method != "POST" {
		return "", "", false
	}
	lit, ok := literal(m.Regex)
	if !ok {
		return "", "", false
	}
	sub := grpcPath.FindStringSubmatch(lit)
	if sub == nil {
		return "", "", false
	}
	return sub[1], sub[2], true
}
