package profiles

import (
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// ParamSchema is what typing a path parameter needs from its schema, whatever the input format.
type ParamSchema struct {
	// Types are the JSON schema types ("null" is ignored).
	Types []string
	// Format is the schema format (uuid, int32, ...).
	Format string
	// Enum lists the allowed values (a 3.1 const is a one-value enum).
	Enum []any
	// Pattern is the ECMA-262 pattern of a string.
	Pattern string
	// Minimum is the inclusive lower bound of a number, when set.
	Minimum *float64
	// Style is the parameter's serialization style (simple when empty).
	Style string
}

// TypeParam turns a parameter schema into the part of a path regex that matches its values.
// Whatever the schema says, the regex never matches an empty value or a slash.
func TypeParam(s ParamSchema) Part {
	if s.Style != "" && s.Style != "simple" {
		// matrix (;id=5) and label (.5) values carry their own prefixes.
		return Part{Kind: KindAny, Regex: anyRegex}
	}
	typ := ""
	for _, t := range s.Types {
		if t == "null" {
			continue
		}
		if typ != "" {
			return Part{Kind: KindAny, Regex: anyRegex}
		}
		typ = t
	}
	if len(s.Enum) > 0 {
		if p, ok := enumPart(s.Enum); ok {
			return p
		}
	}
	switch typ {
	case "integer":
		if s.Minimum != nil && *s.Minimum >= 0 {
			return Part{Kind: KindInteger, Regex: uintRegex}
		}
		return Part{Kind: KindInteger, Regex: integerRegex}
	case "number":
		return Part{Kind: KindNumber, Regex: numberRegex}
	case "boolean":
		return Part{Kind: KindEnum, Regex: booleanRegex, Values: []string{"true", "false"}}
	case "string", "":
		if strings.EqualFold(s.Format, "uuid") {
			return Part{Kind: KindUUID, Regex: uuidRegex}
		}
		if s.Pattern != "" {
			if re, ok := SafePattern(s.Pattern); ok {
				return Part{Kind: KindPattern, Regex: re}
			}
		}
	}
	return Part{Kind: KindAny, Regex: anyRegex}
}

// enumPart builds an alternation of the quoted enum values; ok is false when a value could
// not appear in a path segment (empty, or with a slash).
func enumPart(enum []any) (Part, bool) {
	seen := map[string]bool{}
	var vals []string
	for _, e := range enum {
		var v string
		switch x := e.(type) {
		case string:
			v = x
		case float64:
			v = strconv.FormatFloat(x, 'f', -1, 64)
		case int:
			v = strconv.Itoa(x)
		case int64:
			v = strconv.FormatInt(x, 10)
		case bool:
			v = strconv.FormatBool(x)
		case nil:
			continue
		default:
			return Part{}, false
		}
		if v == "" || strings.Contains(v, "/") {
			return Part{}, false
		}
		if !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return Part{}, false
	}
	quoted := make([]string, len(vals))
	for i, v := range vals {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return Part{Kind: KindEnum, Regex: "(?:" + strings.Join(quoted, "|") + ")", Values: vals}, true
}

// SafePattern returns a schema pattern as a regex fragment when it is safe to embed in a path
// regex: it parses as RE2 (the proxy's Rust regex accepts that syntax), has no anchors or
// assertions inside, can never match a slash and never matches the empty string. Leading ^
// and trailing $ are dropped since the proxy matches the whole path anyway.
func SafePattern(pattern string) (string, bool) {
	p := strings.TrimPrefix(pattern, "^")
	if strings.HasSuffix(p, "$") && !strings.HasSuffix(p, `\$`) {
		p = strings.TrimSuffix(p, "$")
	}
	if p == "" {
		return "", false
	}
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil || !slashFree(re) {
		return "", false
	}
	whole, err := regexp.Compile("^(?:" + p + ")$")
	if err != nil || whole.MatchString("") {
		return "", false
	}
	return "(?:" + p + ")", true
}

// slashFree tells whether re can match only text without "/" and has no assertion.
func slashFree(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary,
		syntax.OpNoMatch:
		return false
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r == '/' {
				return false
			}
		}
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] <= '/' && '/' <= re.Rune[i+1] {
				return false
			}
		}
	}
	for _, sub := range re.Sub {
		if !slashFree(sub) {
			return false
		}
	}
	return true
}
