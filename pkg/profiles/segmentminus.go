package profiles

import "github.com/trafficctl/trafficctl/pkg/internal/regex"

// Gateway API route precedence (Linkerd's rules) ties two full-path regex matches of the same
// method, and the tie is broken by creation time and name, not by listed order. So for
// HTTPRoutes every operation's regex must exclude the requests of the more specific routes
// before it. segmentMinus picks, from what a segment and its siblings are (words, integers,
// "{param}SUFFIX", a fixed shape), which of pkg/internal/regex's complements applies.

// segmentExcluding is a regex for the values of seg that none of the excluded sibling segments
// match, and the excluded segments it could not exclude (the route then ties with theirs). It
// tries what has a regex of its own (words, integers, a {name}SUFFIX sibling, a fixed-shape
// sibling), then the general construction when its regex is not too long.
func segmentExcluding(seg Segment, excluded []Segment) (string, []Segment) {
	if len(excluded) == 0 {
		return seg.Regex(), nil
	}
	var simple, hard []Segment
	for _, e := range excluded {
		if e.finiteValues() != nil || (len(e) == 1 && e[0].Kind == KindInteger) {
			simple = append(simple, e)
		} else {
			hard = append(hard, e)
		}
	}
	re, ok := segmentMinus(seg, simple)
	if combined, fine := minusSuffixAndWords(seg, simple, hard); fine {
		re, ok, hard = combined, true, nil
	}
	if shaped, fine := minusShapeAndWords(seg, simple, hard); fine {
		// "{name}" minus "{id:uuid}" (and words of that shape): exact too.
		re, ok, hard = shaped, true, nil
	}
	if !ok || len(hard) > 0 {
		// Anything else: the general construction, when its regex is not too long.
		drop := make([]string, len(excluded))
		for i, e := range excluded {
			drop[i] = e.Regex()
		}
		if general, fine := regex.Minus(seg.Regex(), drop); fine && len(general) <= maxRegexLength {
			re, ok, hard = general, true, nil
		}
	}
	if !ok {
		re, hard = seg.Regex(), excluded
	}
	return re, hard
}

// minusSuffixAndWords is a regex for an unconstrained segment minus "{name}.json"-style
// segments sharing one suffix (hard) and words (simple), or ok=false.
func minusSuffixAndWords(seg Segment, simple, hard []Segment) (string, bool) {
	suffix, isSuffix := commonSuffix(hard)
	if !isSuffix || len(seg) != 1 || seg[0].Kind != KindAny {
		return "", false
	}
	var words []string
	for _, e := range simple {
		v := e.finiteValues()
		if v == nil {
			return "", false
		}
		words = append(words, v...)
	}
	return regex.MinusWordsAndSuffix(words, suffix)
}

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
