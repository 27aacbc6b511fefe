package profiles

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/trafficctl/trafficctl/pkg/internal/regex"
)

// Overlap is a pair of routes that match some common request where ordering cannot make each
// operation reach its own route.
type Overlap struct {
	// First is the route listed (and matched) first; Second the one it takes requests from.
	First, Second string
	// Example is a request path both match; empty when none was found by sampling.
	Example string
	// Unreachable is true when Second can never match first: First matches all its requests.
	Unreachable bool
	// Tie marks HTTPRoute rules whose regexes could not be made disjoint.
	Tie bool
}

func (o Overlap) String() string {
	if o.Tie {
		return fmt.Sprintf("HTTPRoute rules for %q and %q can match the same request and Linkerd then picks by creation time and name: make the paths distinct or use a ServiceProfile", o.First, o.Second)
	}
	msg := fmt.Sprintf("routes %q and %q overlap", o.First, o.Second)
	if o.Unreachable {
		msg = fmt.Sprintf("route %q can never match: %q, listed before it, matches all of its requests", o.Second, o.First)
	}
	if o.Example != "" {
		msg += fmt.Sprintf(" (e.g. %s goes to %q)", o.Example, o.First)
	}
	return msg
}

// samplesPerCheck is how many samples decide whether two non-trivial segments intersect.
const samplesPerCheck = 24

// findOverlaps reports, for every ordered pair of routes with the same method and the same
// number of segments, the requests they both match when the first is not simply the more
// specific of the two.
func findOverlaps(routes []Route) []Overlap {
	type key struct {
		method string
		n      int
		grpc   bool
	}
	groups := map[key][]int{}
	var order []key
	for i, r := range routes {
		k := key{r.Method, len(r.Segments), r.GRPC}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var out []Overlap
	for _, k := range order {
		idx := groups[k]
		for x := 0; x < len(idx); x++ {
			for y := x + 1; y < len(idx); y++ {
				a, b := &routes[idx[x]], &routes[idx[y]]
				if !routesIntersect(a, b, rng) {
					continue
				}
				aInB, bInA := routeSubset(a, b), routeSubset(b, a)
				if aInB && !bInA {
					continue // a is the more specific route: ordering resolves it.
				}
				out = append(out, Overlap{First: a.Name, Second: b.Name, Example: exampleBoth(a, b, rng), Unreachable: bInA})
			}
		}
	}
	return out
}

func routesIntersect(a, b *Route, rng *rand.Rand) bool {
	for i := range a.Segments {
		if !segIntersects(a.Segments[i], b.Segments[i], rng) {
			return false
		}
	}
	return true
}

func routeSubset(a, b *Route) bool {
	for i := range a.Segments {
		if !segSubset(a.Segments[i], b.Segments[i]) {
			return false
		}
	}
	return true
}

func isAny(s Segment) bool { return len(s) == 1 && s[0].Kind == KindAny }

// segIntersects tells whether some value matches both segments. It is exact when either side
// is finite or unconstrained, and decided by sampling otherwise.
func segIntersects(a, b Segment, rng *rand.Rand) bool {
	if fa := a.finiteValues(); fa != nil {
		return anyMatches(fa, b.Regex())
	}
	if fb := b.finiteValues(); fb != nil {
		return anyMatches(fb, a.Regex())
	}
	if isAny(a) || isAny(b) {
		return true
	}
	ra, rb := a.Regex(), b.Regex()
	if ra == rb {
		return true
	}
	return sampleHits(ra, rb, rng) || sampleHits(rb, ra, rng)
}

// segSubset tells whether every value of a matches b (false when that cannot be shown).
func segSubset(a, b Segment) bool {
	if fa := a.finiteValues(); fa != nil {
		for _, v := range fa {
			if !regex.MatchWhole(b.Regex(), v) {
				return false
			}
		}
		return true
	}
	if isAny(b) || a.Regex() == b.Regex() {
		return true
	}
	return len(a) == 1 && len(b) == 1 && a[0].Kind == KindInteger && b[0].Kind == KindNumber
}

func anyMatches(values []string, expr string) bool {
	for _, v := range values {
		if regex.MatchWhole(expr, v) {
			return true
		}
	}
	return false
}

// sampleHits samples values of from and tells whether one of them matches to.
func sampleHits(from, to string, rng *rand.Rand) bool {
	for range samplesPerCheck {
		v, err := regex.Sample(from, rng)
		if err != nil {
			return true
		}
		if regex.MatchWhole(to, v) {
			return true
		}
	}
	return false
}

// exampleBoth builds a path matched by both routes, or "" when sampling finds none.
func exampleBoth(a, b *Route, rng *rand.Rand) string {
	var sb strings.Builder
	for i := range a.Segments {
		v, ok := segExample(a.Segments[i], b.Segments[i], rng)
		if !ok {
			return ""
		}
		sb.WriteByte('/')
		sb.WriteString(v)
	}
	return sb.String()
}

func segExample(a, b Segment, rng *rand.Rand) (string, bool) {
	for _, pair := range [][2]Segment{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		if f := from.finiteValues(); f != nil {
			for _, v := range f {
				if regex.MatchWhole(to.Regex(), v) {
					return v, true
				}
			}
			continue
		}
		for range samplesPerCheck {
			v, err := regex.Sample(from.Regex(), rng)
			if err == nil && regex.MatchWhole(to.Regex(), v) {
				return v, true
			}
		}
	}
	return "", false
}
