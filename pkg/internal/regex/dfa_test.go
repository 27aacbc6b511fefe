package regex

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// checkRegexMinus compares Minus(keep, drop) with brute force on strings drawn from
// alphabet and on near misses of samples of every regex involved.
func checkRegexMinus(t *testing.T, keep string, drop []string, slashes bool, alphabet []byte, rng *rand.Rand, rounds int) {
	t.Helper()
	re, ok := minus(keep, drop, slashes)
	if !ok {
		t.Fatalf("%s minus %q: no regex", keep, drop)
	}
	check := func(s string) {
		want := (slashes || !strings.Contains(s, "/")) && MatchWhole(keep, s)
		for _, d := range drop {
			want = want && !MatchWhole(d, s)
		}
		if got := MatchWhole(re, s); got != want {
			t.Fatalf("%s minus %q: %q: %s says %t, want %t", keep, drop, s, re, got, want)
		}
	}
	exprs := append([]string{keep}, drop...)
	for range rounds {
		probeRound(t, rng, alphabet, exprs[rng.IntN(len(exprs))], check)
	}
}

// TestRegexMinus: the general "segment minus segments" construction is exact, against brute
// force, on the sibling shapes the special cases leave as ties.
func TestRegexMinus(t *testing.T) {
	cases := []struct {
		name     string
		keep     string
		drop     []string
		alphabet string
	}{
		{"any minus number", anyRegex, []string{numberRegex}, "0-9.a"},
		{"any minus v{integer}", anyRegex, []string{"v" + integerRegex}, "v0-9a"},
		{"any minus {integer}.json", anyRegex, []string{integerRegex + `\.json`}, "0-9.json"},
		{"number minus integer", numberRegex, []string{integerRegex}, "0-9.a"},
		{"any minus several", anyRegex, []string{numberRegex, "[a-z]{2}", "me", uuidRegex[:13]}, "0-9.mea"},
		{"any minus {a}.{b}", anyRegex, []string{`[^/]+\.[^/]+`}, "a.b"},
		{"beyond ASCII", anyRegex, []string{"é[à-ü]+"}, "éàüa"},
	}
	t.Run("whole paths", func(t *testing.T) {
		checkRegexMinus(t, `/x/[^/]+/[^/]+`, []string{`/x/-?[0-9]+/-?[0-9]+`, `/x/a/[^/]+`}, true, []byte("/x0-a"), rand.New(rand.NewPCG(5, 8)), 3000)
		checkRegexMinus(t, `/x/(?s:.)*`, []string{`/x/[^/]*`}, true, []byte("/x0a"), rand.New(rand.NewPCG(5, 8)), 3000)
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkRegexMinus(t, tc.keep, tc.drop, false, []byte(tc.alphabet), rand.New(rand.NewPCG(5, 8)), 3000)
		})
	}
	for _, drop := range []string{"^a", `\bx`, "(?i)ab"} {
		if re, ok := Minus(anyRegex, []string{drop}); ok {
			t.Errorf("minus %s: want no regex (anchors, case folding), got %s", drop, re)
		}
	}
}

// FuzzRegexMinus: for any two regexes (contract patterns), segment or whole path, the
// construction either refuses or is exact on samples and near misses.
func FuzzRegexMinus(f *testing.F) {
	f.Add(anyRegex, numberRegex, false)
	f.Add(numberRegex, integerRegex, false)
	f.Add("[a-c]+x", "a*x", false)
	f.Add(`/x/[^/]+/[^/]+`, `/x/[0-9]+/[^/]+`, true)
	f.Add(`/(?s:.)+`, `/[^/]*`, true)
	f.Fuzz(func(t *testing.T, keep, drop string, slashes bool) {
		for _, e := range []string{keep, drop} {
			if _, err := regexp.Compile(e); err != nil {
				return
			}
		}
		if _, ok := minus(keep, []string{drop}, slashes); !ok {
			return
		}
		checkRegexMinus(t, keep, []string{drop}, slashes, []byte("ax0-./é"), rand.New(rand.NewPCG(1, 2)), 60)
	})
}
