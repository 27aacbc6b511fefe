package profiles

import (
	"fmt"
	"regexp"
	"strings"
)

// API is the format-neutral result of reading a contract: the operations to route, in the
// order the contract lists them.
type API struct {
	// Source names the input (file, URL, "-") for messages.
	Source string
	// Operations are the routable operations.
	Operations []Operation
}

// Operation is one routable operation of a contract.
type Operation struct {
	// Method is the upper-case HTTP method (POST for gRPC).
	Method string
	// Path is the full path template, base path included: /v1/pets/{id}.
	Path string
	// Location says where the operation is defined, for messages: "paths./pets/{id}.get".
	Location string
	// Segments is Path split on "/" with its parameters typed.
	Segments []Segment
	// Retryable is the contract's x-linkerd-retryable (or proto idempotency); nil when unset.
	Retryable *bool
	// Timeout is the contract's x-linkerd-timeout; empty when unset.
	Timeout string
	// ResponseClasses are the status classes whose failure classification the contract sets.
	ResponseClasses []StatusClass
	// GRPC marks a protobuf RPC: the route is named by its path and has no response classes.
	GRPC bool
}

// RouteName is the default route name: "METHOD /path/template" for HTTP, the path for gRPC.
func (op *Operation) RouteName() string {
	if op.GRPC {
		return strings.ToValidUTF8(op.Path, "\uFFFD")
	}
	return op.Method + " " + strings.ToValidUTF8(op.Path, "\uFFFD")
}

// PathRegex is the regular expression matching exactly the concrete paths of the operation.
func (op *Operation) PathRegex() string {
	var b strings.Builder
	for _, s := range op.Segments {
		b.WriteByte('/')
		b.WriteString(s.Regex())
	}
	return b.String()
}

// StatusClass is a range of status codes with an explicit failure classification.
type StatusClass struct {
	Min, Max  uint32
	IsFailure bool
}

// DefaultIsFailure is Linkerd's classification when no response class matches: 5xx fails.
func (c StatusClass) DefaultIsFailure() bool { return c.Min >= 500 }

// ParamKind is how a path parameter's value is constrained.
type ParamKind int

// Parameter kinds, from most to least constrained.
const (
	// KindLiteral is not a parameter: a fixed piece of the path.
	KindLiteral ParamKind = iota
	// KindEnum is a parameter with a finite set of values (enum, boolean).
	KindEnum
	// KindInteger is an integer parameter.
	KindInteger
	// KindUUID is a string parameter of format uuid.
	KindUUID
	// KindNumber is a number parameter.
	KindNumber
	// KindPattern is a string parameter with an RE2-safe pattern.
	KindPattern
	// KindAny is an unconstrained parameter: one or more non-slash characters.
	KindAny
)

// Regexes for the typed parameter kinds.
const (
	anyRegex      = `[^/]+`
	integerRegex  = `-?[0-9]+`
	uintRegex     = `[0-9]+`
	numberRegex   = `-?[0-9]+(?:\.[0-9]+)?`
	uuidRegex     = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
	booleanRegex  = `(?:true|false)`
	templateOpen  = '{'
	templateClose = '}'
)

// Part is a literal piece of a path segment or a parameter.
type Part struct {
	// Literal is the fixed text (KindLiteral only).
	Literal string
	// Param is the parameter name (parameters only).
	Param string
	// Kind is how the value is constrained.
	Kind ParamKind
	// Regex matches the value (parameters only).
	Regex string
	// Values lists the values of a KindEnum parameter.
	Values []string
}

// regex is the part's regular expression.
func (p Part) regex() string {
	if p.Kind == KindLiteral {
		return regexp.QuoteMeta(p.Literal)
	}
	return p.Regex
}

// Segment is one "/"-separated piece of a path template.
type Segment []Part

// Regex matches exactly the concrete values of the segment.
func (s Segment) Regex() string {
	var b strings.Builder
	for _, p := range s {
		b.WriteString(p.regex())
	}
	return b.String()
}

// IsLiteral tells whether the segment has no parameter.
func (s Segment) IsLiteral() bool {
	for _, p := range s {
		if p.Kind != KindLiteral {
			return false
		}
	}
	return true
}

// literalText is the segment's fixed text (only meaningful for literal segments).
func (s Segment) literalText() string {
	var b strings.Builder
	for _, p := range s {
		b.WriteString(p.Literal)
	}
	return b.String()
}

// literalLen counts the fixed characters of the segment: more fixed text is more specific.
func (s Segment) literalLen() int {
	n := 0
	for _, p := range s {
		n += len(p.Literal)
	}
	return n
}

// rank orders segments from most to least specific; see sortOperations.
func (s Segment) rank() int {
	if s.IsLiteral() {
		return 0
	}
	if len(s) == 1 {
		switch s[0].Kind {
		case KindEnum:
			return 1
		case KindInteger, KindUUID:
			return 3
		case KindNumber:
			return 4
		case KindPattern:
			return 5
		default:
			return 6
		}
	}
	// A parameter with fixed text around it ("{name}.json").
	return 2
}

// finiteValues lists every value of a segment made of literals and at most one enum, or nil.
func (s Segment) finiteValues() []string {
	vals := []string{""}
	for _, p := range s {
		switch p.Kind {
		case KindLiteral:
			for i := range vals {
				vals[i] += p.Literal
			}
		case KindEnum:
			var next []string
			for _, v := range vals {
				for _, e := range p.Values {
					next = append(next, v+e)
				}
			}
			if len(next) > 256 {
				return nil
			}
			vals = next
		default:
			return nil
		}
	}
	return vals
}

// ParamTyper types a path parameter by name; ok is false when the contract does not define it.
type ParamTyper func(name string) (p Part, ok bool)

// ParseTemplate splits a path template into typed segments. Parameters the contract does not
// define, and unbalanced braces, are reported through warn and treated leniently.
func ParseTemplate(path string, typer ParamTyper, warn func(string)) []Segment {
	if warn == nil {
		warn = func(string) {}
	}
	raw := strings.Split(strings.TrimPrefix(path, "/"), "/")
	segs := make([]Segment, 0, len(raw))
	for _, r := range raw {
		var seg Segment
		lit := ""
		for len(r) > 0 {
			i := strings.IndexByte(r, templateOpen)
			j := -1
			if i >= 0 {
				j = strings.IndexByte(r[i:], templateClose)
			}
			if i < 0 || j < 0 {
				if i >= 0 || strings.IndexByte(r, templateClose) >= 0 {
					warn(fmt.Sprintf("path %q: unbalanced braces in %q, matched literally", path, r))
				}
				lit += r
				break
			}
			lit += r[:i]
			name := r[i+1 : i+j]
			r = r[i+j+1:]
			if name == "" {
				warn(fmt.Sprintf("path %q: empty parameter name {}, matched literally", path))
				lit += "{}"
				continue
			}
			if lit != "" {
				seg = append(seg, Part{Literal: escapeLiteral(lit)})
				lit = ""
			}
			p, ok := typer(name)
			if !ok {
				warn(fmt.Sprintf("path %q: parameter {%s} is not defined as a path parameter, matching any value", path, name))
				p = Part{Kind: KindAny, Regex: anyRegex}
			}
			p.Param = name
			seg = append(seg, p)
		}
		if lit != "" || len(seg) == 0 {
			seg = append(seg, Part{Literal: escapeLiteral(lit)})
		}
		segs = append(segs, seg)
	}
	return segs
}

// escapeLiteral percent-encodes what a client percent-encodes in a path (bytes outside printable
// ASCII), so that the literal matches requests as they arrive and the regex is valid UTF-8.
func escapeLiteral(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// joinPath puts a base path and a path template together with exactly one slash between them.
func joinPath(base, path string) string {
	base = strings.TrimRight(base, "/")
	if base != "" && !strings.HasPrefix(base, "/") {
		base = "/" + base
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return base + path
}
