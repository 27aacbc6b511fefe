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

// minusWordsAndSuffix is a regex for the non-empty, slash-free strings that are neither one of
// words nor "{param}SUFFIX" (at least one byte, then suffix): "{name}" minus "~me" and
// "{name}.json". It walks the words' trie; off the trie, what may follow a prefix p is any
// string whose last len(suffix) bytes differ from the suffix, or a shorter string that does not
// complete the suffix after p.
func minusWordsAndSuffix(words []string, suffix string) (string, bool) {
	if suffix == "" || !isASCII(suffix) || strings.ContainsRune(suffix, '/') {
		return "", false
	}
	L := len(suffix)
	endsWith := func(s string) bool { return len(s) > L && strings.HasSuffix(s, suffix) }
	type node struct {
		kids     map[byte]*node
		terminal bool
	}
	root := &node{kids: map[byte]*node{}}
	for _, w := range words {
		if w == "" || endsWith(w) {
			continue // empty, or already excluded by the suffix
		}
		if !isASCII(w) || strings.ContainsRune(w, '/') {
			return "", false
		}
		n := root
		for i := 0; i < len(w); i++ {
			if n.kids[w[i]] == nil {
				n.kids[w[i]] = &node{kids: map[byte]*node{}}
			}
			n = n.kids[w[i]]
		}
		n.terminal = true
	}
	// notS matches the length-L strings other than suffix.
	var notS []string
	for k := 0; k < L; k++ {
		tail := ""
		if rest := L - k - 1; rest > 0 {
			tail = fmt.Sprintf("[^/]{%d}", rest)
		}
		notS = append(notS, regexp.QuoteMeta(suffix[:k])+"[^/"+classEscape(suffix[k : k+1])[1:]+"]"+tail)
	}
	longTail := "[^/]*(?:" + strings.Join(notS, "|") + ")"
	maxWord := 0
	var kept []string
	for _, w := range words {
		if w != "" && !endsWith(w) {
			kept = append(kept, w)
			maxWord = max(maxWord, len(w))
		}
	}
	if maxWord < L {
		// No word is long enough to end with the suffix: up to maxWord bytes only the words are
		// excluded; longer strings only must not end with the suffix.
		long := fmt.Sprintf("[^/]{%d,%d}|%s", maxWord+1, L, longTail)
		if maxWord == 0 {
			long = fmt.Sprintf("[^/]{1,%d}|%s", L, longTail)
			return "(?:" + long + ")", true
		}
		short, ok := boundedComplement(append(kept, ""), maxWord)
		if !ok {
			return "(?:" + long + ")", true
		}
		re := "(?:" + short + "|" + long + ")"
		return re, len(re) <= maxRegexLength
	}
	// tailAfter is what may follow a prefix p once off the trie.
	tailAfter := func(p string) string {
		var bad []string // short tails that would complete the suffix after p
		for j := 1; j <= L; j++ {
			if strings.HasSuffix(p, suffix[:j]) && len(p)+L-j > L {
				bad = append(bad, suffix[j:])
			}
		}
		if len(bad) == 0 {
			return fmt.Sprintf("(?:%s|[^/]{0,%d})", longTail, L-1)
		}
		short, ok := boundedComplement(bad, L-1)
		if !ok {
			return "(?:" + longTail + ")"
		}
		return "(?:" + longTail + "|" + short + ")"
	}
	// startsSuffix tells whether p ends with a non-empty prefix of the suffix: only then does
	// what follows p depend on p.
	startsSuffix := func(p string) bool {
		for j := 1; j <= L; j++ {
			if strings.HasSuffix(p, suffix[:j]) {
				return true
			}
		}
		return false
	}
	sChars := ""
	for i := 0; i < L; i++ {
		if strings.IndexByte(sChars, suffix[i]) < 0 {
			sChars += suffix[i : i+1]
		}
	}
	var build func(n *node, q string) string
	build = func(n *node, q string) string {
		var alts []string
		if q != "" && !n.terminal && !endsWith(q) {
			alts = append(alts, "")
		}
		keys := make([]byte, 0, len(n.kids))
		for k := range n.kids {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, k := range keys {
			alts = append(alts, regexp.QuoteMeta(string(k))+build(n.kids[k], q+string(k)))
		}
		special := ""
		for i := 0; i < len(sChars); i++ {
			if c := sChars[i]; n.kids[c] == nil && startsSuffix(q+string(c)) {
				special += string(c)
				alts = append(alts, regexp.QuoteMeta(string(c))+tailAfter(q+string(c)))
			}
		}
		alts = append(alts, "[^/"+classEscape(special + string(keys))[1:]+"]"+tailAfter("/"))
		return "(?:" + strings.Join(alts, "|") + ")"
	}
	re := build(root, "")
	return re, len(re) <= maxRegexLength
}

// boundedComplement is a regex for the strings of at most maxLen slash-free bytes (the empty
// string included) that are not in words; ok is false when there is none.
func boundedComplement(words []string, maxLen int) (string, bool) {
	type node struct {
		kids     map[byte]*node
		terminal bool
	}
	root := &node{kids: map[byte]*node{}}
	for _, w := range words {
		n := root
		for i := 0; i < len(w); i++ {
			if n.kids[w[i]] == nil {
				n.kids[w[i]] = &node{kids: map[byte]*node{}}
			}
			n = n.kids[w[i]]
		}
		n.terminal = true
	}
	// build returns "" with ok=false when nothing is left under n.
	var build func(n *node, depth int) (string, bool)
	build = func(n *node, depth int) (string, bool) {
		var alts []string
		if !n.terminal {
			alts = append(alts, "")
		}
		if depth < maxLen {
			keys := make([]byte, 0, len(n.kids))
			for k := range n.kids {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
			for _, k := range keys {
				if sub, ok := build(n.kids[k], depth+1); ok {
					alts = append(alts, regexp.QuoteMeta(string(k))+sub)
				}
			}
			rest := ""
			if left := maxLen - depth - 1; left > 0 {
				rest = fmt.Sprintf("[^/]{0,%d}", left)
			}
			alts = append(alts, "[^/"+classEscape(string(keys))[1:]+"]"+rest)
		}
		if len(alts) == 0 {
			return "", false
		}
		return "(?:" + strings.Join(alts, "|") + ")", true
	}
	return build(root, 0)
}
