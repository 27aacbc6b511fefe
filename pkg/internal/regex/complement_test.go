package regex

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The parameter regexes of pkg/profiles (model.go): the segments the constructions meet.
const (
	anyRegex     = anySegment
	integerRegex = `-?[0-9]+`
	numberRegex  = `-?[0-9]+(?:\.[0-9]+)?`
	uuidRegex    = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
	booleanRegex = `(?:true|false)`
)

// TestMinusWordsAndSuffix checks the combined complement against brute force.
func TestMinusWordsAndSuffix(t *testing.T) {
	cases := []struct {
		suffix string
		words  []string
	}{
		{".json", []string{"~me", "a.json", "js", ".j"}},
		{"aa", []string{"a", "ba", "aaa", "xa"}},
		{"x", nil},
		{"x", []string{"ax", "b", "bb", "bx"}},
		{".json", nil},
		{".tar.gz", []string{"t", ".tar", "gz", ".tar.g"}},
	}
	alphabet := []byte(".jsonxa~m-targzb")
	for _, tc := range cases {
		re, ok := MinusWordsAndSuffix(tc.words, tc.suffix)
		if !ok {
			t.Fatalf("%q %v: no regex (%d characters)", tc.suffix, tc.words, len(re))
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for range 30000 {
			b := make([]byte, rng.IntN(10))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			s := string(b)
			want := s != "" && !(len(s) > len(tc.suffix) && strings.HasSuffix(s, tc.suffix))
			for _, w := range tc.words {
				if s == w {
					want = false
				}
			}
			if got := MatchWhole(re, s); got != want {
				t.Fatalf("%q minus %v and *%s: %s says %t, want %t", s, tc.words, tc.suffix, re, got, want)
			}
		}
	}
}

// checkShapeComplement compares MinusFixedShape(expr) with brute force on strings drawn from
// alphabet and on near misses of strings of the shape (one character changed, dropped or added).
func checkShapeComplement(t *testing.T, expr string, alphabet []byte, rng *rand.Rand, rounds int) {
	t.Helper()
	re, ok := MinusFixedShape(expr)
	if !ok {
		t.Fatalf("%s: no complement", expr)
	}
	if len(re) > MaxLength {
		t.Errorf("%s: complement of %d characters", expr, len(re))
	}
	check := func(s string) {
		want := s != "" && !strings.Contains(s, "/") && !MatchWhole(expr, s)
		if got := MatchWhole(re, s); got != want {
			t.Fatalf("%s: %q: complement %s says %t, want %t", expr, s, re, got, want)
		}
	}
	for range rounds {
		probeRound(t, rng, alphabet, expr, check)
	}
}

// probeRound feeds check a random string over alphabet, a sample of expr and near misses of
// that sample (one character added, dropped or changed).
func probeRound(t *testing.T, rng *rand.Rand, alphabet []byte, expr string, check func(string)) {
	t.Helper()
	b := make([]byte, rng.IntN(8))
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	check(string(b))
	s, err := Sample(expr, rng)
	if err != nil {
		t.Fatal(err)
	}
	check(s)
	i := rng.IntN(len(s) + 1)
	c := string(alphabet[rng.IntN(len(alphabet))])
	check(s[:i] + c + s[i:])
	if i < len(s) {
		check(s[:i] + s[i+1:])
		check(s[:i] + c + s[i+1:])
	}
}

// TestMinusFixedShape: "{name}" minus a fixed-shape sibling (uuid, "[a-z]{2}", "{id}.json"
// with a uuid id) is exact, against brute force.
func TestMinusFixedShape(t *testing.T) {
	cases := []struct {
		name, expr string
		alphabet   string
	}{
		{"uuid", uuidRegex, "0a9F-g.x"},
		{"uuid with a suffix", uuidRegex + `\.json`, "0aF-.jsonx"},
		{"two letters", "[a-z]{2}", "abz0-A"},
		{"a literal", "ab", "abc"},
		{"runs of one class", `v[0-9]{2}-[0-9]{2}`, "v0-9x"},
		{"metacharacters", `\]\^-[\-\\]{2}`, `]^-\x`},
		{"beyond ASCII", `é[à-ü]`, "éàüa"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkShapeComplement(t, tc.expr, []byte(tc.alphabet), rand.New(rand.NewPCG(3, 4)), 3000)
		})
	}
	for _, expr := range []string{anyRegex, integerRegex, numberRegex, booleanRegex, "a?", "[a-z]{2,3}", "(?i)ab", "a/b"} {
		if re, ok := MinusFixedShape(expr); ok {
			t.Errorf("%s is not of a fixed shape, got complement %s", expr, re)
		}
	}
}

// FuzzMinusFixedShape: for any regex (a contract's pattern), a complement is either refused or
// exact on samples of the shape and on their near misses.
func FuzzMinusFixedShape(f *testing.F) {
	for _, s := range []string{uuidRegex, "[a-z]{2}", `\.json`, "x{3}y", `[^a-c]{2}`, "(ab){2}", "a|b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if _, err := regexp.Compile(expr); err != nil {
			return
		}
		if _, ok := fixedShape(expr); !ok {
			return
		}
		checkShapeComplement(t, expr, []byte("a0-.Z/é"), rand.New(rand.NewPCG(1, 2)), 100)
	})
}
