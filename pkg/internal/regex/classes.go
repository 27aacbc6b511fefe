package regex

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
)

// MaxClassStates bounds the product automaton PathClasses explores.
const MaxClassStates = 50000

// PathClass is a set of paths on which each of a list of regexes agrees: all of its paths match
// exactly the regexes marked in Matches. Example is a shortest such path.
type PathClass struct {
	Matches []bool
	Example string
}

// PathClasses partitions all strings by which of exprs (RE2, matched against the whole string)
// match them, by running the regexes' automata side by side: every combination of matches that
// some string reaches is returned once, with a shortest example. It returns false when a regex
// uses what the automata do not model (anchors, word boundaries, case folding) or when the product
// passes maxStates states (0 means MaxClassStates); callers then fall back to sampling.
func PathClasses(exprs []string, maxStates int) ([]PathClass, bool) {
	if maxStates <= 0 {
		maxStates = MaxClassStates
	}
	progs := make([]*syntax.Prog, len(exprs))
	for i, expr := range exprs {
		p, ok := compileNFA(expr)
		if !ok {
			return nil, false
		}
		progs[i] = p
	}
	symbols := alphabet(progs, true)
	type state struct {
		sets    []nfaSet
		example string
	}
	keyOf := func(sets []nfaSet) string {
		parts := make([]string, len(sets))
		for i, set := range sets {
			parts[i] = set.key()
		}
		return strings.Join(parts, "|")
	}
	start := make([]nfaSet, len(progs))
	for i, p := range progs {
		start[i] = closure(p, []uint32{uint32(p.Start)})
	}
	seen := map[string]bool{keyOf(start): true}
	queue := []state{{sets: start}}
	classes := map[string]int{}
	var out []PathClass
	for q := 0; q < len(queue); q++ {
		s := queue[q]
		matches := make([]bool, len(progs))
		var mk strings.Builder
		for i, p := range progs {
			matches[i] = s.sets[i].accepts(p)
			if matches[i] {
				mk.WriteByte('1')
			} else {
				mk.WriteByte('0')
			}
		}
		if _, ok := classes[mk.String()]; !ok {
			classes[mk.String()] = len(out)
			out = append(out, PathClass{Matches: matches, Example: s.example})
		}
		for _, sym := range symbols {
			next := make([]nfaSet, len(progs))
			r := readableRune(sym)
			for i, p := range progs {
				next[i] = s.sets[i].step(p, r)
			}
			k := keyOf(next)
			if seen[k] {
				continue
			}
			if len(seen) >= maxStates {
				return nil, false
			}
			seen[k] = true
			queue = append(queue, state{sets: next, example: s.example + string(r)})
		}
	}
	return out, true
}

// readableRune picks the character of an interval that reads best in an example path.
func readableRune(iv interval) rune {
	for _, r := range []rune{'a', 'x', '0', '-', '.', '_', '~', 'A'} {
		if iv.lo <= r && r <= iv.hi {
			return r
		}
	}
	if r := max(iv.lo, '!'); r <= min(iv.hi, '~') {
		return r
	}
	return iv.lo
}

// NearMisses returns strings close to a sample of expr (one character changed, added or
// removed), the probes that find where two regexes disagree when no automaton can be built.
func NearMisses(expr string, rng *rand.Rand) []string {
	s, err := Sample(expr, rng)
	if err != nil {
		return nil
	}
	out := []string{s, s + "/", s + "x"}
	if len(s) > 1 {
		i := 1 + rng.IntN(len(s)-1)
		out = append(out, s[:i]+s[i+1:], s[:i]+"x"+s[i+1:], s[:i])
	}
	return out
}
