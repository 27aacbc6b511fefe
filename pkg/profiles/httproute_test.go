package profiles

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/pkg/internal/regex"
)

func renderRoutes(t *testing.T, ro *RouteObjects) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, tie := range ro.Ties {
		buf.WriteString("# warning: " + tie.String() + "\n")
	}
	for _, s := range ro.Skipped {
		buf.WriteString("# warning: " + s + "\n")
	}
	var objs []any
	for _, r := range ro.HTTP {
		objs = append(objs, r)
	}
	for _, r := range ro.GRPC {
		objs = append(objs, r)
	}
	for i, o := range objs {
		m, err := Manifest(o)
		if err != nil {
			t.Fatal(err)
		}
		out, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(out)
	}
	return buf.Bytes()
}

func TestGoldenHTTPRoutes(t *testing.T) {
	for _, file := range corpusSpecs(t) {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Run(name, func(t *testing.T) {
			plan, err := NewPlan(loadCorpus(t, file, nil), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name+".httproute.yaml", renderRoutes(t, plan.RouteObjects()))
		})
	}
}

// linkerdPick is the rule Linkerd's outbound policy picks for a request: the longest path match
// (Exact and full-path RegularExpression count the whole path, PathPrefix its prefix), then more
// header and query matches, then a method match. It returns every name that ties at the top.
func linkerdPick(t *testing.T, ro *RouteObjects, method, path string) []string {
	t.Helper()
	type score struct{ length, headers, query, method int }
	better := func(a, b score) bool {
		if a.length != b.length {
			return a.length > b.length
		}
		if a.headers != b.headers {
			return a.headers > b.headers
		}
		if a.query != b.query {
			return a.query > b.query
		}
		return a.method > b.method
	}
	var best score
	var names []string
	for i, route := range ro.HTTP {
		for r, rule := range route.Spec.Rules {
			for m, match := range rule.Matches {
				if match.Method != nil && string(*match.Method) != method {
					continue
				}
				s := score{headers: len(match.Headers), query: len(match.QueryParams)}
				if match.Method != nil {
					s.method = 1
				}
				switch *match.Path.Type {
				case gatewayv1.PathMatchRegularExpression:
					if !regex.MatchWhole(*match.Path.Value, path) {
						continue
					}
					s.length = len(path)
				case gatewayv1.PathMatchPathPrefix:
					v := strings.TrimSuffix(*match.Path.Value, "/")
					if path != v && !strings.HasPrefix(path, v+"/") {
						continue
					}
					s.length = max(len(v), 1)
				case gatewayv1.PathMatchExact:
					if path != *match.Path.Value {
						continue
					}
					s.length = len(path)
				}
				name := ro.MatchNames[i][r][m]
				switch {
				case names == nil || better(s, best):
					best, names = s, []string{name}
				case !better(best, s):
					names = append(names, name)
				}
			}
		}
	}
	return names
}

// TestHTTPRoutePrecedenceProperty: under Linkerd's HTTPRoute precedence, a request to an
// operation is picked by that operation's rule alone (or the tie was reported), and a path no
// operation has reaches the catch-all.
func TestHTTPRoutePrecedenceProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	for _, file := range corpusSpecs(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			plan, err := NewPlan(loadCorpus(t, file, nil), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			ro := plan.RouteObjects()
			sp := plan.ServiceProfile()
			reported := map[[2]string]bool{}
			for _, o := range append(append([]Overlap{}, plan.Overlaps...), ro.Ties...) {
				reported[[2]string{o.First, o.Second}] = true
				reported[[2]string{o.Second, o.First}] = true
			}
			for i := range plan.Routes {
				r := &plan.Routes[i]
				if !gatewayMethods[r.Method] {
					continue
				}
				for range 40 {
					// A path of this operation may also be one of a more specific sibling's
					// ("/langs/{name}" sampled as /langs/en, which "/langs/{code}" has): the
					// rule picked must be the route the ServiceProfile's first match picks.
					path := samplePath(t, &r.Operation, rng)
					want := firstMatch(t, sp, r.Method, path)
					picked := linkerdPick(t, ro, r.Method, path)
					if len(picked) == 1 && picked[0] == want {
						continue
					}
					for _, other := range picked {
						if other != want && !reported[[2]string{other, want}] {
							t.Errorf("%s %s (operation %s): Linkerd would pick %q, want only %q", r.Method, path, r.Location, picked, want)
						}
					}
				}
			}
			for _, m := range []string{"GET", "POST", "DELETE"} {
				if got := linkerdPick(t, ro, m, "/no-such-operation/x.y/~z"); len(got) != 1 || got[0] != "" {
					t.Errorf("%s of an unknown path picked %q, want the catch-all", m, got)
				}
			}
		})
	}
}

func TestHTTPRouteShape(t *testing.T) {
	plan, err := NewPlan(loadCorpus(t, "testdata/specs/emojivoto-web.yaml", nil), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	ro := plan.RouteObjects()
	for _, r := range ro.HTTP {
		if len(r.Spec.ParentRefs) != 1 || *r.Spec.ParentRefs[0].Group != "core" || *r.Spec.ParentRefs[0].Kind != "Service" || r.Spec.ParentRefs[0].Name != "web" {
			t.Errorf("%s: parentRefs %+v, want the core Service web", r.Name, r.Spec.ParentRefs)
		}
		for _, rule := range r.Spec.Rules {
			if len(rule.BackendRefs) != 0 {
				t.Errorf("%s: rule has backendRefs", r.Name)
			}
		}
		if _, ok := r.Annotations[AnnotationRetryHTTP]; ok && r.Annotations[AnnotationRetryHTTP] != "5xx" {
			t.Errorf("%s: retry annotation %q", r.Name, r.Annotations[AnnotationRetryHTTP])
		}
	}
}

// TestSegmentMinus checks the difference regexes against brute force over a small alphabet.
func TestSegmentMinus(t *testing.T) {
	anySeg := Segment{{Kind: KindAny, Regex: anyRegex}}
	uintSeg := Segment{{Kind: KindInteger, Regex: uintRegex}}
	lit := func(s string) Segment { return Segment{{Literal: s}} }
	cases := []struct {
		name     string
		seg      Segment
		excluded []Segment
	}{
		{"any minus words", anySeg, []Segment{lit("me"), lit("m"), lit("mine"), lit("~x")}},
		{"any minus enum", anySeg, []Segment{{TypeParam(ParamSchema{Enum: []any{"a-b", "a]", "^"}})}}},
		{"any minus integers", anySeg, []Segment{{{Kind: KindInteger, Regex: integerRegex}}, lit("12")}},
		{"any minus unsigned integers", anySeg, []Segment{uintSeg}},
		{"unsigned minus words", uintSeg, []Segment{lit("0"), lit("10"), lit("x")}},
	}
	alphabet := []byte("me0-1i~xab]^n2")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			re, ok := segmentMinus(tc.seg, tc.excluded)
			if !ok {
				t.Fatal("no regex")
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 5000 {
				n := rng.IntN(6)
				b := make([]byte, n)
				for i := range b {
					b[i] = alphabet[rng.IntN(len(alphabet))]
				}
				s := string(b)
				want := regex.MatchWhole(tc.seg.Regex(), s)
				for _, e := range tc.excluded {
					if regex.MatchWhole(e.Regex(), s) {
						want = false
					}
				}
				if got := regex.MatchWhole(re, s); got != want {
					t.Fatalf("%q: regex %s says %t, want %t", s, re, got, want)
				}
			}
		})
	}
}

// TestHTTPRouteRegexLimit: regexes stay within the CRD's 1024 characters: a too long
// exclusion falls back to the plain regex (with ties reported), a too long plain regex is
// left to the catch-all with a warning.
func TestHTTPRouteRegexLimit(t *testing.T) {
	typer := func(string) (Part, bool) { return Part{Kind: KindAny, Regex: anyRegex}, true }
	var ops []Operation
	for i := range 200 {
		path := fmt.Sprintf("/items/%x", uint32(i+1)*2654435761) // no structure a shorter regex could use
		ops = append(ops, Operation{Method: "GET", Path: path, Segments: ParseTemplate(path, typer, nil)})
	}
	ops = append(ops, Operation{Method: "GET", Path: "/items/{id}", Segments: ParseTemplate("/items/{id}", typer, nil)})
	var values []any
	for i := range 150 {
		values = append(values, fmt.Sprintf("value-%03d", i))
	}
	big := TypeParam(ParamSchema{Enum: values})
	ops = append(ops, Operation{Method: "GET", Path: "/big/{v}", Segments: ParseTemplate("/big/{v}", func(string) (Part, bool) { return big, true }, nil)})
	plan, err := NewPlan(&API{Operations: ops}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	ro := plan.RouteObjects()
	for _, r := range ro.HTTP {
		for _, rule := range r.Spec.Rules {
			for _, m := range rule.Matches {
				if n := len(*m.Path.Value); n > maxRegexLength {
					t.Errorf("%s: regex of %d characters", r.Name, n)
				}
			}
		}
	}
	if len(ro.Skipped) != 1 || !strings.Contains(ro.Skipped[0], "GET /big/{v}") {
		t.Errorf("skipped %v, want the enum route", ro.Skipped)
	}
	if len(ro.Ties) != 200 {
		t.Errorf("%d ties reported, want 200 (each literal against /items/{id})", len(ro.Ties))
	}
}

// TestCommonSuffix: "{a}.a" and "{b}.b" have no suffix in common to exclude at once.
func TestCommonSuffix(t *testing.T) {
	if _, ok := commonSuffix([]Segment{{{Kind: KindAny, Regex: anyRegex}, {Literal: ".a"}}, {{Kind: KindAny, Regex: anyRegex}, {Literal: ".b"}}}); ok {
		t.Error("two different suffixes: want none in common")
	}
}

// TestHTTPRouteSiblingShapes: siblings the segment-by-segment exclusion cannot separate (they
// differ in several segments, or in one with a shape of their own) get disjoint regexes from
// the whole-path construction, and Linkerd's precedence then agrees with the first match.
func TestHTTPRouteSiblingShapes(t *testing.T) {
	anyP := Part{Kind: KindAny, Regex: anyRegex}
	intP := Part{Kind: KindInteger, Regex: integerRegex}
	numP := Part{Kind: KindNumber, Regex: numberRegex}
	cases := []struct {
		name  string
		paths []string
		typed map[string]Part
	}{
		{"two integer segments", []string{"/x/{a}/{b}", "/x/{c}/{d}"}, map[string]Part{"a": intP, "b": intP}},
		{"integer, number, any", []string{"/x/{a}", "/x/{b}", "/x/{c}"}, map[string]Part{"a": intP, "b": numP}},
		{"crossed literals", []string{"/a/b/{y}", "/a/{x}/c", "/a/{p}/{q}"}, nil},
		{"versioned and suffixed", []string{"/api/v{n}/{id}.json", "/api/{rel}/{name}"}, map[string]Part{"n": intP, "id": intP}},
		{"structured literals", []string{"/items/literal-000", "/items/literal-001", "/items/literal-117", "/items/{id}"}, nil},
	}
	rng := rand.New(rand.NewPCG(8, 9))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			typer := func(name string) (Part, bool) {
				if p, ok := tc.typed[name]; ok {
					return p, true
				}
				return anyP, true
			}
			var ops []Operation
			for _, p := range tc.paths {
				ops = append(ops, Operation{Method: "GET", Path: p, Segments: ParseTemplate(p, typer, nil)})
			}
			plan, err := NewPlan(&API{Operations: ops}, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			ro := plan.RouteObjects()
			// Overlaps a ServiceProfile's order decides (/a/b/c) are still reported for it;
			// the HTTPRoutes must not tie.
			if len(ro.Ties) != 0 {
				t.Fatalf("ties %v", ro.Ties)
			}
			sp := plan.ServiceProfile()
			for i := range plan.Routes {
				r := &plan.Routes[i]
				for range 300 {
					path := samplePath(t, &r.Operation, rng)
					want := firstMatch(t, sp, r.Method, path)
					if got := linkerdPick(t, ro, r.Method, path); len(got) != 1 || got[0] != want {
						t.Errorf("GET %s: Linkerd would pick %q, want only %q", path, got, want)
					}
				}
			}
		})
	}
}
