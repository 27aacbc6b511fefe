package regex

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
)

// The special cases of "segment minus other segments", each spelled out as a regex since RE2
// has no lookahead: a set of words removed from a character class (ComplementWords), words and
// a "{param}SUFFIX" removed from an unconstrained segment (MinusWordsAndSuffix), and a
// fixed-shape segment (a uuid, "[a-z]{2}") removed from an unconstrained one (MinusFixedShape).
// They give shorter, more readable regexes than the general automaton construction (Minus).

// CharClass is a character class, either the listed characters or all but them.
type CharClass struct {
	negated bool
	chars   string
}

// The classes ComplementWords works over: path segments' and unsigned integers' characters.
var (
	// SegmentChars is every character but "/".
	SegmentChars = CharClass{negated: true, chars: "/"}
	// Digits is 0-9.
	Digits = CharClass{chars: "0123456789"}
)

func (c CharClass) has(b byte) bool {
	return strings.IndexByte(c.chars, b) >= 0 != c.negated
}

// without is the class minus the given characters, as a regex.
func (c CharClass) without(except string) string {
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

func (c CharClass) regex() string {
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

// wordTrie is a byte trie of words: the regexes that exclude words are written by walking it.
type wordTrie struct {
	kids     map[byte]*wordTrie
	terminal bool
}

func newWordTrie() *wordTrie { return &wordTrie{kids: map[byte]*wordTrie{}} }

func (t *wordTrie) insert(w string) {
	for i := 0; i < len(w); i++ {
		next := t.kids[w[i]]
		if next == nil {
			next = newWordTrie()
			t.kids[w[i]] = next
		}
		t = next
	}
	t.terminal = true
}

// keys are the bytes that continue t, in order, so that the regexes come out the same each run.
func (t *wordTrie) keys() []byte {
	keys := make([]byte, 0, len(t.kids))
	for k := range t.kids {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ComplementWords is a regex for the non-empty strings over class that are not in words.
func ComplementWords(class CharClass, words []string) (string, bool) {
	root := newWordTrie()
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
		root.insert(w)
	}
	star := class.regex() + "*"
	var build func(n *wordTrie, isRoot bool) string
	build = func(n *wordTrie, isRoot bool) string {
		var alts []string
		keys := n.keys()
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

// MinusWordsAndSuffix is a regex for the non-empty, slash-free strings that are neither one of
// words nor "{param}SUFFIX" (at least one byte, then suffix): "{name}" minus "~me" and
// "{name}.json". It walks the words' trie; off the trie, what may follow a prefix p is any
// string whose last len(suffix) bytes differ from the suffix, or a shorter string that does not
// complete the suffix after p.
func MinusWordsAndSuffix(words []string, suffix string) (string, bool) {
	if suffix == "" || !isASCII(suffix) || strings.ContainsRune(suffix, '/') {
		return "", false
	}
	w := &suffixWalk{suffix: suffix}
	root := newWordTrie()
	for _, word := range words {
		if word == "" || w.endsWith(word) {
			continue // empty, or already excluded by the suffix
		}
		if !isASCII(word) || strings.ContainsRune(word, '/') {
			return "", false
		}
		root.insert(word)
	}
	L := len(suffix)
	// notS matches the length-L strings other than suffix.
	var notS []string
	for k := 0; k < L; k++ {
		tail := ""
		if rest := L - k - 1; rest > 0 {
			tail = fmt.Sprintf("[^/]{%d}", rest)
		}
		notS = append(notS, regexp.QuoteMeta(suffix[:k])+"[^/"+classEscape(suffix[k : k+1])[1:]+"]"+tail)
	}
	w.longTail = "[^/]*(?:" + strings.Join(notS, "|") + ")"
	maxWord := 0
	var kept []string
	for _, word := range words {
		if word != "" && !w.endsWith(word) {
			kept = append(kept, word)
			maxWord = max(maxWord, len(word))
		}
	}
	if maxWord < L {
		return w.shortWords(kept, maxWord)
	}
	for i := 0; i < L; i++ {
		if strings.IndexByte(w.sChars, suffix[i]) < 0 {
			w.sChars += suffix[i : i+1]
		}
	}
	re := w.build(root, "")
	return re, len(re) <= MaxLength
}

// suffixWalk is what MinusWordsAndSuffix needs while it walks the words' trie.
type suffixWalk struct {
	suffix   string
	longTail string // a tail of at least len(suffix) bytes that does not end with the suffix
	sChars   string // the distinct bytes of the suffix
}

func (w *suffixWalk) endsWith(s string) bool {
	return len(s) > len(w.suffix) && strings.HasSuffix(s, w.suffix)
}

// shortWords is the regex when no word is long enough to end with the suffix: up to maxWord
// bytes only the words are excluded; longer strings only must not end with the suffix.
func (w *suffixWalk) shortWords(kept []string, maxWord int) (string, bool) {
	L := len(w.suffix)
	long := fmt.Sprintf("[^/]{%d,%d}|%s", maxWord+1, L, w.longTail)
	if maxWord == 0 {
		long = fmt.Sprintf("[^/]{1,%d}|%s", L, w.longTail)
		return "(?:" + long + ")", true
	}
	short, ok := boundedComplement(append(kept, ""), maxWord)
	if !ok {
		return "(?:" + long + ")", true
	}
	re := "(?:" + short + "|" + long + ")"
	return re, len(re) <= MaxLength
}

// tailAfter is what may follow a prefix p once off the trie.
func (w *suffixWalk) tailAfter(p string) string {
	L := len(w.suffix)
	var bad []string // short tails that would complete the suffix after p
	for j := 1; j <= L; j++ {
		if strings.HasSuffix(p, w.suffix[:j]) && len(p)+L-j > L {
			bad = append(bad, w.suffix[j:])
		}
	}
	if len(bad) == 0 {
		return fmt.Sprintf("(?:%s|[^/]{0,%d})", w.longTail, L-1)
	}
	short, ok := boundedComplement(bad, L-1)
	if !ok {
		return "(?:" + w.longTail + ")"
	}
	return "(?:" + w.longTail + "|" + short + ")"
}

// startsSuffix tells whether p ends with a non-empty prefix of the suffix: only then does
// what follows p depend on p.
func (w *suffixWalk) startsSuffix(p string) bool {
	for j := 1; j <= len(w.suffix); j++ {
		if strings.HasSuffix(p, w.suffix[:j]) {
			return true
		}
	}
	return false
}

// build is the regex for what may follow the prefix q, at node n of the words' trie.
func (w *suffixWalk) build(n *wordTrie, q string) string {
	var alts []string
	if q != "" && !n.terminal && !w.endsWith(q) {
		alts = append(alts, "")
	}
	keys := n.keys()
	for _, k := range keys {
		alts = append(alts, regexp.QuoteMeta(string(k))+w.build(n.kids[k], q+string(k)))
	}
	special := ""
	for i := 0; i < len(w.sChars); i++ {
		if c := w.sChars[i]; n.kids[c] == nil && w.startsSuffix(q+string(c)) {
			special += string(c)
			alts = append(alts, regexp.QuoteMeta(string(c))+w.tailAfter(q+string(c)))
		}
	}
	alts = append(alts, "[^/"+classEscape(special + string(keys))[1:]+"]"+w.tailAfter("/"))
	return "(?:" + strings.Join(alts, "|") + ")"
}

// boundedComplement is a regex for the strings of at most maxLen slash-free bytes (the empty
// string included) that are not in words; ok is false when there is none.
func boundedComplement(words []string, maxLen int) (string, bool) {
	root := newWordTrie()
	for _, w := range words {
		root.insert(w)
	}
	// build returns "" with ok=false when nothing is left under n.
	var build func(n *wordTrie, depth int) (string, bool)
	build = func(n *wordTrie, depth int) (string, bool) {
		var alts []string
		if !n.terminal {
			alts = append(alts, "")
		}
		if depth < maxLen {
			keys := n.keys()
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

// anySegment is a regex for one unconstrained path segment (pkg/profiles' "{param}").
const anySegment = `[^/]+`

// maxShapeLength bounds the fixed-shape exclusions turned into a complement.
const maxShapeLength = 256

// shapeRun is a run of n characters of one class in a fixed-shape segment.
type shapeRun struct {
	class []rune // sorted ranges, as in regexp/syntax
	n     int
}

// fixedShape splits a segment regex that matches strings of one length, position by position
// from a character class (a uuid, "[a-z]{2}", "{id:uuid}.json"), into runs of one class. It
// fails on anything with alternatives, optional or unbounded repetition, or case folding.
func fixedShape(expr string) ([]shapeRun, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	var classes [][]rune
	var walk func(r *syntax.Regexp) bool
	walk = func(r *syntax.Regexp) bool {
		switch r.Op {
		case syntax.OpLiteral:
			if r.Flags&syntax.FoldCase != 0 {
				return false
			}
			for _, c := range r.Rune {
				classes = append(classes, []rune{c, c})
			}
		case syntax.OpCharClass:
			classes = append(classes, r.Rune)
		case syntax.OpCapture:
			return walk(r.Sub[0])
		case syntax.OpConcat:
			for _, s := range r.Sub {
				if !walk(s) {
					return false
				}
			}
		case syntax.OpRepeat:
			if r.Min != r.Max {
				return false
			}
			for range r.Min {
				if !walk(r.Sub[0]) {
					return false
				}
			}
		default:
			return false
		}
		return len(classes) <= maxShapeLength
	}
	if !walk(re) || len(classes) == 0 {
		return nil, false
	}
	var runs []shapeRun
	for _, c := range classes {
		if len(c) == 0 || classHas(c, '/') {
			return nil, false
		}
		if len(runs) > 0 && slices.Equal(runs[len(runs)-1].class, c) {
			runs[len(runs)-1].n++
			continue
		}
		runs = append(runs, shapeRun{class: c, n: 1})
	}
	return runs, true
}

func classHas(ranges []rune, c rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= c && c <= ranges[i+1] {
			return true
		}
	}
	return false
}

// classRegex writes ranges as a class, negated (and without "/") when not.
func classRegex(ranges []rune, not bool) string {
	if !not && len(ranges) == 2 && ranges[0] == ranges[1] {
		return regexp.QuoteMeta(string(ranges[0]))
	}
	var b strings.Builder
	b.WriteByte('[')
	if not {
		b.WriteByte('^')
	}
	write := func(c rune) {
		switch {
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x{%x}`, c)
		case strings.ContainsRune(`\]^-[`, c):
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		write(ranges[i])
		if ranges[i+1] > ranges[i] {
			b.WriteByte('-')
			write(ranges[i+1])
		}
	}
	if not && !classHas(ranges, '/') {
		b.WriteByte('/')
	}
	b.WriteByte(']')
	return b.String()
}

// MinusFixedShape is a regex for the non-empty, slash-free strings that the fixed-shape regex
// expr does not match: "{name}" minus "{id:uuid}". Such a string either leaves the shape at a
// first mismatching position (the characters before it follow the shape, then comes one its
// class does not allow, then anything), stops early, or goes on after the whole shape. Nested
// run by run, the regex grows with the number of runs, not of characters.
func MinusFixedShape(expr string) (string, bool) {
	runs, ok := fixedShape(expr)
	if !ok {
		return "", false
	}
	rest := anySegment // after the whole shape: at least one more character
	for j := len(runs) - 1; j >= 0; j-- {
		r := runs[j]
		in, out := classRegex(r.class, false), classRegex(r.class, true)
		full := repeat(in, r.n, r.n)
		var alts []string
		if j == 0 {
			// Not empty: start off the shape, or with 1..n-1 characters of the run.
			alts = append(alts, out+"[^/]*")
			if r.n > 1 {
				alts = append(alts, repeat(in, 1, r.n-1)+"(?:"+out+"[^/]*)?")
			}
		} else {
			alts = append(alts, repeat(in, 0, r.n-1)+"(?:"+out+"[^/]*)?")
		}
		alts = append(alts, full+rest)
		rest = "(?:" + strings.Join(alts, "|") + ")"
	}
	return rest, true
}

// repeat writes the atom in (a class or one, maybe escaped, character) repeated lo to hi times.
func repeat(in string, lo, hi int) string {
	if hi == 0 {
		return ""
	}
	if len([]rune(in)) > 1 && !strings.HasPrefix(in, "[") && !(len(in) == 2 && in[0] == '\\') {
		in = "(?:" + in + ")"
	}
	if lo == hi {
		if hi == 1 {
			return in
		}
		return fmt.Sprintf("%s{%d}", in, hi)
	}
	return fmt.Sprintf("%s{%d,%d}", in, lo, hi)
}
