package regex

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
)

// maxRepeat bounds unbounded repetitions (x*, x+, x{2,}) when sampling.
const maxRepeat = 6

// Sample returns a random string matched by the regex expr (RE2 syntax). Character classes
// are sampled from printable ASCII when they allow it, so that samples read well in messages
// and can be used as URL paths.
func Sample(expr string, rng *rand.Rand) (string, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	sampleNode(re.Simplify(), rng, &b)
	return b.String(), nil
}

func sampleNode(re *syntax.Regexp, rng *rand.Rand, b *strings.Builder) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		b.WriteRune(sampleClass(re.Rune, rng))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteRune(rune('a' + rng.IntN(26)))
	case syntax.OpCapture:
		sampleNode(re.Sub[0], rng, b)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			sampleNode(s, rng, b)
		}
	case syntax.OpAlternate:
		sampleNode(re.Sub[rng.IntN(len(re.Sub))], rng, b)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, maxRepeat
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 {
				hi = lo + maxRepeat
			}
		}
		n := lo + rng.IntN(hi-lo+1)
		for range n {
			sampleNode(re.Sub[0], rng, b)
		}
	}
}

// sampleClass picks a rune of a character class, preferring URL-safe printable ASCII.
func sampleClass(ranges []rune, rng *rand.Rand) rune {
	const nice = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
	var ok []rune
	for _, c := range nice {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= c && c <= ranges[i+1] {
				ok = append(ok, c)
				break
			}
		}
	}
	if len(ok) > 0 {
		return ok[rng.IntN(len(ok))]
	}
	i := 2 * rng.IntN(len(ranges)/2)
	return ranges[i] + rune(rng.Int64N(int64(ranges[i+1]-ranges[i]+1)))
}

// wholeRegexCache compiles "^(?:expr)$" once per expression.
var wholeRegexCache sync.Map

// MatchWhole tells whether expr matches all of s.
func MatchWhole(expr, s string) bool {
	v, ok := wholeRegexCache.Load(expr)
	if !ok {
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return false
		}
		v, _ = wholeRegexCache.LoadOrStore(expr, re)
	}
	return v.(*regexp.Regexp).MatchString(s)
}
