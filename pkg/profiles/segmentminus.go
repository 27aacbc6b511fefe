package profiles

import "github.com/trafficctl/trafficctl/pkg/internal/regex"

// Gateway API route precedence (Linkerd's rules) ties two full-path regex matches of the same
// method, and the tie is broken by creation time and name, not by listed order. So for
// HTTPRoutes every operation's regex must exclude the requests of the more specific routes
// before it. segmentMinus picks, from what a segment and its siblings are (words, integers,
// "{param}SUFFIX", a fixed shape), which of pkg/internal/regex's complements applies.

// nonIntegerRegex matches the non-empty, slash-free strings that integerRegex does not match.
const nonIntegerRegex = `(?:[^/]*[^/0-9-][^/]*|[^/]+-[^/]*|-)`

// nonUintRegex matches the non-empty, slash-free strings that uintRegex does not match.
const nonUintRegex = `(?:[^/]*[^/0-9][^/]*)`

// segmentMinus is a regex for the values of seg that match none of the excluded segments, or
// ok=false when no such regex is built here.
func segmentMinus(seg Segment, excluded []Segment) (string, bool) {
	if len(excluded) == 0 {
		return seg.Regex(), true
	}
	if len(seg) != 1 || (seg[0].Kind != KindAny && seg[0].Regex != uintRegex) {
		return "", false
	}
	var words []string
	intRegex := ""
	for _, e := range excluded {
		if vals := e.finiteValues(); vals != nil {
			words = append(words, vals...)
			continue
		}
		if len(e) != 1 || e[0].Kind != KindInteger || seg[0].Kind != KindAny {
			return "", false
		}
		if intRegex != integerRegex {
			intRegex = e[0].Regex
		}
	}
	if intRegex == "" {
		if seg[0].Kind == KindAny {
			return regex.ComplementWords(regex.SegmentChars, words)
		}
		return regex.ComplementWords(regex.Digits, words)
	}
	for _, w := range words {
		if !regex.MatchWhole(intRegex, w) {
			return "", false // integers and other words at once: no simple regex
		}
	}
	if intRegex == integerRegex {
		return nonIntegerRegex, true
	}
	return nonUintRegex, true
}

// commonSuffix returns S when every excluded segment is "{param}S" with the same literal S.
func commonSuffix(excluded []Segment) (string, bool) {
	suffix := ""
	for _, e := range excluded {
		if len(e) != 2 || e[0].Kind != KindAny || e[0].Regex != anyRegex || e[1].Kind != KindLiteral || e[1].Literal == "" {
			return "", false
		}
		if suffix != "" && e[1].Literal != suffix {
			return "", false
		}
		suffix = e[1].Literal
	}
	return suffix, suffix != ""
}

// minusShapeAndWords is a regex for an unconstrained segment minus one fixed-shape segment
// (see regex.MinusFixedShape) and words that shape already matches, or ok=false.
func minusShapeAndWords(seg Segment, simple, hard []Segment) (string, bool) {
	if len(hard) != 1 || len(seg) != 1 || seg[0].Kind != KindAny {
		return "", false
	}
	shape := hard[0].Regex()
	for _, e := range simple {
		values := e.finiteValues()
		if values == nil {
			return "", false
		}
		for _, v := range values {
			if !regex.MatchWhole(shape, v) {
				return "", false
			}
		}
	}
	return regex.MinusFixedShape(shape)
}
