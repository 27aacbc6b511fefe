package regex

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The general case of "segment minus other segments": build the automaton of the segment's
// values that match none of the excluded segments (a product of the regexes' automata over the
// character intervals they distinguish), minimize it and spell it out as a regex by state
// elimination. It covers what the special cases do not (a number sibling, "v{n:integer}",
// "{n:integer}.json", several typed siblings at once); when the automaton or the regex grows
// too large, the caller reports a tie instead.

// Limits of the general construction.
const (
	maxDFAStates   = 256
	maxDFARegexLen = 2 * MaxLength
)

// Minus is a regex for the slash-free strings that keep matches and none of drop match. It is
// not ok when a regex uses what the automata do not model (anchors, word boundaries, case
// folding) or when the automaton or the regex grows past the limits above.
func Minus(keep string, drop []string) (string, bool) {
	return minus(keep, drop, false)
}

// PathMinus is a regex for the paths (slashes included) that keep matches and none of drop
// match: a route minus siblings that differ from it in several segments.
func PathMinus(keep string, drop []string) (string, bool) {
	return minus(keep, drop, true)
}

func minus(keep string, drop []string, slashes bool) (string, bool) {
	progs := make([]*syntax.Prog, 0, 1+len(drop))
	for _, expr := range append([]string{keep}, drop...) {
		p, ok := compileNFA(expr)
		if !ok {
			return "", false
		}
		progs = append(progs, p)
	}
	symbols := alphabet(progs, slashes)
	d, ok := productDFA(progs, symbols)
	if !ok {
		return "", false
	}
	return d.minimize().regex(symbols, slashes)
}

// compileNFA compiles expr, refusing what the product construction does not model: anchors,
// word boundaries and case folding.
func compileNFA(expr string) (*syntax.Prog, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, false
	}
	for _, inst := range prog.Inst {
		switch inst.Op {
		case syntax.InstEmptyWidth:
			return nil, false
		case syntax.InstRune, syntax.InstRune1:
			if syntax.Flags(inst.Arg)&syntax.FoldCase != 0 {
				return nil, false
			}
		}
	}
	return prog, true
}

// interval is a range of runes no regex involved tells apart.
type interval struct{ lo, hi rune }

// alphabet splits the runes (other than "/" unless slashes) into intervals on which every
// instruction of the programs agrees.
func alphabet(progs []*syntax.Prog, slashes bool) []interval {
	cuts := []rune{0, '/', '/' + 1, '\n', '\n' + 1, unicode.MaxRune + 1}
	for _, p := range progs {
		for _, inst := range p.Inst {
			switch inst.Op {
			case syntax.InstRune:
				for i := 0; i+1 < len(inst.Rune); i += 2 {
					cuts = append(cuts, inst.Rune[i], inst.Rune[i+1]+1)
				}
				if len(inst.Rune) == 1 {
					cuts = append(cuts, inst.Rune[0], inst.Rune[0]+1)
				}
			case syntax.InstRune1:
				cuts = append(cuts, inst.Rune[0], inst.Rune[0]+1)
			}
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var out []interval
	for i := 0; i+1 < len(cuts); i++ {
		if slashes || cuts[i] != '/' {
			out = append(out, interval{cuts[i], cuts[i+1] - 1})
		}
	}
	return out
}

// nfaSet is a sorted set of program counters, closed under empty moves.
type nfaSet []uint32

func closure(p *syntax.Prog, pcs []uint32) nfaSet {
	seen := map[uint32]bool{}
	var out nfaSet
	var visit func(pc uint32)
	visit = func(pc uint32) {
		if seen[pc] {
			return
		}
		seen[pc] = true
		inst := &p.Inst[pc]
		switch inst.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			visit(inst.Out)
			visit(inst.Arg)
		case syntax.InstCapture, syntax.InstNop:
			visit(inst.Out)
		case syntax.InstFail:
		default:
			out = append(out, pc)
		}
	}
	for _, pc := range pcs {
		visit(pc)
	}
	slices.Sort(out)
	return out
}

func (s nfaSet) step(p *syntax.Prog, r rune) nfaSet {
	var next []uint32
	for _, pc := range s {
		inst := &p.Inst[pc]
		if inst.Op != syntax.InstMatch && inst.MatchRune(r) {
			next = append(next, inst.Out)
		}
	}
	return closure(p, next)
}

func (s nfaSet) accepts(p *syntax.Prog) bool {
	return slices.ContainsFunc(s, func(pc uint32) bool { return p.Inst[pc].Op == syntax.InstMatch })
}

func (s nfaSet) key() string {
	var b strings.Builder
	for _, pc := range s {
		b.WriteString(strconv.FormatUint(uint64(pc), 36))
		b.WriteByte(',')
	}
	return b.String()
}

// dfa is a deterministic automaton over the intervals; next[s][i] is -1 for the dead state.
type dfa struct {
	next   [][]int
	accept []bool
}

// productDFA runs all programs side by side: a state accepts when the first program does and
// no other one does.
func productDFA(progs []*syntax.Prog, symbols []interval) (*dfa, bool) {
	start := make([]nfaSet, len(progs))
	for i, p := range progs {
		start[i] = closure(p, []uint32{uint32(p.Start)})
	}
	keyOf := func(sets []nfaSet) string {
		var b strings.Builder
		for _, s := range sets {
			b.WriteString(s.key())
			b.WriteByte('|')
		}
		return b.String()
	}
	d := &dfa{}
	index := map[string]int{}
	var queue [][]nfaSet
	add := func(sets []nfaSet) (int, bool) {
		if len(sets[0]) == 0 {
			return -1, true // the kept regex can no longer match: dead
		}
		k := keyOf(sets)
		if i, ok := index[k]; ok {
			return i, true
		}
		if len(d.next) == maxDFAStates {
			return 0, false
		}
		accept := sets[0].accepts(progs[0])
		for j := 1; j < len(sets) && accept; j++ {
			accept = !sets[j].accepts(progs[j])
		}
		index[k] = len(d.next)
		d.next = append(d.next, nil)
		d.accept = append(d.accept, accept)
		queue = append(queue, sets)
		return index[k], true
	}
	if _, ok := add(start); !ok {
		return nil, false
	}
	for s := 0; s < len(queue); s++ {
		row := make([]int, len(symbols))
		for i, sym := range symbols {
			next := make([]nfaSet, len(progs))
			for j, p := range progs {
				next[j] = queue[s][j].step(p, sym.lo)
			}
			t, ok := add(next)
			if !ok {
				return nil, false
			}
			row[i] = t
		}
		d.next[s] = row
	}
	return d, true
}

// minimize merges equivalent states (Moore's refinement) and drops those that cannot reach
// an accepting state.
func (d *dfa) minimize() *dfa {
	n := len(d.next)
	live := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for s := range n {
			if live[s] {
				continue
			}
			if d.accept[s] || slices.ContainsFunc(d.next[s], func(t int) bool { return t >= 0 && live[t] }) {
				live[s], changed = true, true
			}
		}
	}
	class := make([]int, n)
	for s := range n {
		switch {
		case !live[s]:
			class[s] = -1
		case d.accept[s]:
			class[s] = 1
		}
	}
	classOf := func(t int) int {
		if t < 0 {
			return -1
		}
		return class[t]
	}
	count := 0
	for {
		sigs := map[string]int{}
		next := make([]int, n)
		for s := range n {
			if class[s] < 0 {
				next[s] = -1
				continue
			}
			var b strings.Builder
			b.WriteString(strconv.Itoa(class[s]))
			for _, t := range d.next[s] {
				b.WriteByte(',')
				b.WriteString(strconv.Itoa(classOf(t)))
			}
			id, ok := sigs[b.String()]
			if !ok {
				id = len(sigs)
				sigs[b.String()] = id
			}
			next[s] = id
		}
		class = next
		if len(sigs) == count {
			break
		}
		count = len(sigs)
	}
	// Renumber so that the start state (0) stays 0.
	out := &dfa{next: make([][]int, count), accept: make([]bool, count)}
	order := map[int]int{}
	newID := func(c int) int {
		if id, ok := order[c]; ok {
			return id
		}
		order[c] = len(order)
		return order[c]
	}
	if class[0] < 0 {
		return &dfa{}
	}
	newID(class[0])
	for s := range n {
		if class[s] < 0 {
			continue
		}
		id := newID(class[s])
		if out.next[id] != nil {
			continue
		}
		row := make([]int, len(d.next[s]))
		for i, t := range d.next[s] {
			row[i] = -1
			if c := classOf(t); c >= 0 {
				row[i] = newID(c)
			}
		}
		out.next[id], out.accept[id] = row, d.accept[s]
	}
	return out
}

// rx is a regex under construction: alt when it has a top-level "|", atom when a quantifier
// applies to all of it.
type rx struct {
	s         string
	alt, atom bool
	empty     bool // matches only the empty string
}

func (r rx) grouped() string {
	if r.alt {
		return "(?:" + r.s + ")"
	}
	return r.s
}

func concat(parts ...rx) rx {
	var b strings.Builder
	n := 0
	var last rx
	for _, p := range parts {
		if p.empty {
			continue
		}
		b.WriteString(p.grouped())
		n++
		last = p
	}
	if n == 0 {
		return rx{empty: true}
	}
	if n == 1 {
		return last
	}
	return rx{s: b.String()}
}

func alternate(a, b rx) rx {
	if a.s == b.s && a.empty == b.empty {
		return a
	}
	if a.empty {
		return optional(b)
	}
	if b.empty {
		return optional(a)
	}
	return rx{s: a.s + "|" + b.s, alt: true}
}

func optional(r rx) rx {
	if r.empty {
		return r
	}
	if r.atom {
		return rx{s: r.s + "?"}
	}
	return rx{s: "(?:" + r.s + ")?"}
}

func star(r rx) rx {
	if r.empty {
		return r
	}
	if r.atom {
		return rx{s: r.s + "*"}
	}
	return rx{s: "(?:" + r.s + ")*"}
}

// classOfIntervals writes a set of intervals as the shorter of a class and a negated class
// (which excludes "/": only when slashes are not in picked).
func classOfIntervals(symbols []interval, picked []bool, slashes bool) rx {
	var in, out []rune
	for i, sym := range symbols {
		dst := &out
		if picked[i] {
			dst = &in
		}
		if n := len(*dst); n > 0 && (*dst)[n-1]+1 == sym.lo {
			(*dst)[n-1] = sym.hi
		} else {
			*dst = append(*dst, sym.lo, sym.hi)
		}
	}
	slashPicked := false
	for i, sym := range symbols {
		slashPicked = slashPicked || (picked[i] && sym.lo <= '/' && '/' <= sym.hi)
	}
	switch {
	case len(out) == 0 && slashPicked:
		return rx{s: `(?s:.)`, atom: true}
	case len(out) == 0:
		return rx{s: "[^/]", atom: true}
	}
	pos, neg := classRegex(in, false), classRegex(out, true)
	if len(neg) < len(pos) && !slashPicked {
		return rx{s: neg, atom: true}
	}
	return rx{s: pos, atom: true}
}

// regex spells the automaton out by state elimination, or fails past maxDFARegexLen.
func (d *dfa) regex(symbols []interval, slashes bool) (string, bool) {
	n := len(d.next)
	if n == 0 {
		return "", false
	}
	// Nodes: the states, then a final node n; edges[i][j] is the regex from i to j.
	type edge = map[int]rx
	edges := make([]edge, n+1)
	for i := range edges {
		edges[i] = edge{}
	}
	for s := range n {
		targets := map[int][]bool{}
		for i, t := range d.next[s] {
			if t < 0 {
				continue
			}
			if targets[t] == nil {
				targets[t] = make([]bool, len(symbols))
			}
			targets[t][i] = true
		}
		for t, picked := range targets {
			edges[s][t] = classOfIntervals(symbols, picked, slashes)
		}
		if d.accept[s] {
			edges[s][n] = rx{empty: true}
		}
	}
	removed := make([]bool, n)
	for range n - 1 {
		// Eliminate the state (other than the start, 0) with the fewest paths through it.
		best, bestCost := -1, 0
		for k := 1; k < n; k++ {
			if removed[k] {
				continue
			}
			in := 0
			for i := range n {
				if _, ok := edges[i][k]; ok && i != k && !removed[i] {
					in++
				}
			}
			out := len(edges[k])
			if _, self := edges[k][k]; self {
				out--
			}
			if cost := in * out; best < 0 || cost < bestCost {
				best, bestCost = k, cost
			}
		}
		k := best
		loop := rx{empty: true}
		if self, ok := edges[k][k]; ok {
			loop = star(self)
		}
		for i := range n {
			in, ok := edges[i][k]
			if !ok || i == k || removed[i] {
				continue
			}
			for j, out := range edges[k] {
				if j == k {
					continue
				}
				path := concat(in, loop, out)
				if prev, ok := edges[i][j]; ok {
					path = alternate(prev, path)
				}
				if len(path.s) > maxDFARegexLen {
					return "", false
				}
				edges[i][j] = path
			}
			delete(edges[i], k)
		}
		removed[k] = true
		edges[k] = edge{}
	}
	final, ok := edges[0][n]
	if !ok || final.empty {
		return "", false
	}
	if self, ok := edges[0][0]; ok {
		final = concat(star(self), final)
	}
	out := final.grouped()
	if _, err := regexp.Compile(out); err != nil {
		return "", false
	}
	return out, true
}
