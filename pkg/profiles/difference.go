package profiles

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Gateway API route precedence (Linkerd's rules) ties two full-path regex matches of the same
// method, and the tie is broken by creation time and name, not by listed order. So for
// HTTPRoutes every operation's regex must exclude the requests of the more specific routes
// before it. The helpers below build "segment minus other segments" as a regex for the cases
// that have one: a set of words removed from an unconstrained or integer segment, and integers
// removed from an unconstrained segment.

// charClass is a character class, either the listed characters or all but them.
type charClass struct {
	negated bool
	chars   string
}

var (
	anyClass   = charClass{negated: true, chars: "/"}
	digitClass = charClass{chars: "0123456789"}
)

func (c charClass) has(b byte) bool {
	return strings.IndexByte(c.chars, b) >= 0 != c.negated
}

// without is the class minus the given characters, as a regex.
func (c charClass) without(except string) string {
	if c.negated {
		return "[" + classEscape(c.chars+except) + "]" // the brackets hold a leading ^
	}
	var keep strings.Builder
	for i := 0; i < len(c.chars); i++ {
		if strings.IndexByte(except, c.chars[i]) < 0 {
			keep.WriteByte(c.chars[i])
		}
	}
	if keep.Len() == 0 {
		return ""
	}
	return "[" + classEscape(keep.String())[1:] + "]"
}

func (c charClass) regex() string {
	if c.negated {
		return "[" + classEscape(c.chars) + "]"
	}
	return "[" + classEscape(c.chars)[1:] + "]"
}

// classEscape writes chars for use inside [...], led by ^ (callers drop it for positive classes).
func classEscape(chars string) string {
	seen := map[byte]bool{}
	var bs []byte
	for i := 0; i < len(chars); i++ {
		if !seen[chars[i]] {
			seen[chars[i]] = true
			bs = append(bs, chars[i])
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i] < bs[j] })
	var b strings.Builder
	b.WriteByte('^')
	for _, c := range bs {
		if strings.IndexByte(`\]^-[`, c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// complementWords is a regex for the non-empty strings over class that are not in words.
func complementWords(class charClass, words []string) (string, bool) {
	type node struct {
		kids     map[byte]*node
		terminal bool
	}
	root := &node{kids: map[byte]*node{}}
	for _, w := range words {
		ok := w != ""
		for i := 0; i < len(w) && ok; i++ {
			ok = w[i] < 0x80 && class.has(w[i])
		}
		if !ok {
			if w != "" && !isASCII(w) {
				return "", false
			}
			continue // not a string of the class: nothing to remove
		}
		n := root
		for i := 0; i < len(w); i++ {
			next := n.kids[w[i]]
			if next == nil {
				next = &node{kids: map[byte]*node{}}
				n.kids[w[i]] = next
			}
			n = next
		}
		n.terminal = true
	}
	star := class.regex() + "*"
	var build func(n *node, isRoot bool) string
	build = func(n *node, isRoot bool) string {
		var alts []string
		keys := make([]byte, 0, len(n.kids))
		for k := range n.kids {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, k := range keys {
			alts = append(alts, regexp.QuoteMeta(string(k))+build(n.kids[k], false))
		}
		if other := class.without(string(keys)); other != "" {
			alts = append(alts, other+star)
		}
		// A prefix that is not itself excluded may also end here.
		if !isRoot && !n.terminal {
			return "(?:" + strings.Join(alts, "|") + ")?"
		}
		return "(?:" + strings.Join(alts, "|") + ")"
	}
	return build(root, true), true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
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
			return complementWords(anyClass, words)
		}
		return complementWords(digitClass, words)
	}
	for _, w := range words {
		if !matchWhole(intRegex, w) {
			return "", false // integers and other words at once: no simple regex
		}
	}
	if intRegex == integerRegex {
		return nonIntegerRegex, true
	}
	return nonUintRegex, true
}

// notEndingWith handles exclusions that are all "{param}SUFFIX" with one literal suffix: the
// values that do not end with it, as a regex (non-empty, slash-free). ok is false for any
// other shape.
func notEndingWith(excluded []Segment) (string, bool) {
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
	if suffix == "" || strings.ContainsRune(suffix, '/') || !isASCII(suffix) {
		return "", false
	}
	// Shorter than "x"+suffix, or the last len(suffix) bytes differ from the suffix somewhere.
	alts := []string{fmt.Sprintf("[^/]{1,%d}", len(suffix))}
	var last []string
	for k := 0; k < len(suffix); k++ {
		tail := ""
		if rest := len(suffix) - k - 1; rest > 0 {
			tail = fmt.Sprintf("[^/]{%d}", rest)
		}
		last = append(last, regexp.QuoteMeta(suffix[:k])+"[^/"+classEscape(suffix[k : k+1])[1:]+"]"+tail)
	}
	alts = append(alts, "[^/]*(?:"+strings.Join(last, "|")+")")
	return "(?:" + strings.Join(alts, "|") + ")", true
}
