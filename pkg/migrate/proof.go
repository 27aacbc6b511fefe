package migrate

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trafficctl/trafficctl/pkg/internal/regex"
	"github.com/trafficctl/trafficctl/pkg/profiles"
)

// Verdict is what a proof concludes.
type Verdict string

// ProofMethod is how a proof compared the requests.
type ProofMethod string

// Verdicts and methods of a proof.
const (
	VerdictEquivalent Verdict     = "equivalent"
	VerdictDifferent  Verdict     = "different"
	MethodAutomata    ProofMethod = "proved by automata"
	MethodSampling    ProofMethod = "checked by sampling"
)

// Proof compares, for every request (path x method), the policy the old objects route it to
// (ServiceProfile: first matching route) with the policy the new routes route it to (HTTPRoute
// precedence: match length, then method, then creation time and name).
type Proof struct {
	Verdict Verdict `json:"verdict"`
	// Method is MethodAutomata when the routes' regexes were run side by side as one product
	// automaton (every class of paths compared), else MethodSampling.
	Method ProofMethod `json:"method"`
	// Requests is how many classes of requests (or sampled requests) were compared.
	Requests    int          `json:"requests"`
	Differences []Difference `json:"differences,omitempty"`
	Notes       []string     `json:"notes,omitempty"`
}

// Difference is one pair of old and new rules that disagree, with a request that shows it.
type Difference struct {
	Request string `json:"request"`
	Old     string `json:"old"`
	New     string `json:"new"`
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: before %s; after %s", d.Request, d.Old, d.New)
}

// probe answers "does this regex match the request's path" for one class of paths.
type probe struct {
	example string
	matches func(expr string) bool
}

// ProveAgainst proves the migration's old objects equivalent to routes (its own routes, or a
// set edited or written by hand).
func (m *Migration) ProveAgainst(routes []*unstructured.Unstructured) *Proof {
	nm := readNewModel(routes)
	exprs := []string{"/.*"}
	seen := map[string]bool{"/.*": true}
	add := func(e string) {
		if !seen[e] {
			seen[e] = true
			exprs = append(exprs, e)
		}
	}
	for _, r := range m.old.Routes {
		walkRegexes(r.Cond, add, 0)
	}
	for _, x := range nm.Matches {
		add(x.Regex)
		if x.Prefix != "" {
			add(regexp.QuoteMeta(x.Prefix))
		}
	}
	p := &Proof{Method: MethodAutomata, Notes: nm.Notes}
	probes, ok := classProbes(exprs)
	if !ok {
		p.Method = MethodSampling
		probes = sampleProbes(exprs)
	}
	methods := m.methods(nm)
	found := map[string]bool{}
	for _, pr := range probes {
		if !pr.matches("/.*") {
			continue // a request's path starts with "/"
		}
		for _, method := range methods {
			p.Requests++
			oldLabel, oldPol := m.old.route(pr.matches, method)
			newLabel, newPol, tie := nm.route(pr, method)
			if oldPol == newPol && tie == "" {
				continue
			}
			key := oldLabel + "\x00" + newLabel
			if found[key] {
				continue
			}
			found[key] = true
			d := Difference{Request: method + " " + pr.example, Old: oldLabel + " (" + oldPol.String() + ")", New: newLabel + " (" + newPol.String() + ")"}
			if tie != "" {
				d.New += "; tied with " + tie + ", Linkerd picks by creation time and name"
			}
			p.Differences = append(p.Differences, d)
		}
	}
	p.Verdict = VerdictEquivalent
	if len(p.Differences) > 0 {
		p.Verdict = VerdictDifferent
	}
	return p
}

func walkRegexes(c *profiles.RequestMatch, add func(string), depth int) {
	if c == nil || depth > 32 {
		return
	}
	if c.PathRegex != "" {
		add(c.PathRegex)
	}
	for _, list := range [][]profiles.RequestMatch{c.All, c.Any, c.Not} {
		for i := range list {
			walkRegexes(&list[i], add, depth+1)
		}
	}
}

// classProbes partitions paths by the regexes they match, one probe per class.
func classProbes(exprs []string) ([]probe, bool) {
	classes, ok := regex.PathClasses(exprs, 0)
	if !ok {
		return nil, false
	}
	index := map[string]int{}
	for i, e := range exprs {
		index[e] = i
	}
	out := make([]probe, len(classes))
	for i, c := range classes {
		out[i] = probe{example: c.Example, matches: func(e string) bool { return c.Matches[index[e]] }}
	}
	return out, true
}

// sampleProbes tries paths sampled from every regex and near misses of them.
func sampleProbes(exprs []string) []probe {
	rng := rand.New(rand.NewPCG(1, 2))
	set := map[string]bool{"/": true}
	for _, e := range exprs {
		for range 20 {
			for _, s := range regex.NearMisses(e, rng) {
				set[s] = true
			}
		}
	}
	paths := make([]string, 0, len(set))
	for s := range set {
		paths = append(paths, s)
	}
	sort.Slice(paths, func(i, j int) bool {
		return len(paths[i]) < len(paths[j]) || len(paths[i]) == len(paths[j]) && paths[i] < paths[j]
	})
	out := make([]probe, len(paths))
	for i, s := range paths {
		out[i] = probe{example: s, matches: func(e string) bool { return regex.MatchWhole(e, s) }}
	}
	return out
}

// methods are the methods worth comparing: every one named, plus one named nowhere. gRPC
// requests are all POSTs.
func (m *Migration) methods(nm newModel) []string {
	if nm.GRPC || m.old.GRPC {
		return []string{"POST"}
	}
	set := map[string]bool{}
	for _, r := range m.old.Routes {
		walkMethods(r.Cond, set, 0)
	}
	for _, x := range nm.Matches {
		if x.Method != "" {
			set[strings.ToUpper(x.Method)] = true
		}
	}
	out := make([]string, 0, len(set)+1)
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	for _, other := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"} {
		if !set[other] {
			return append(out, other)
		}
	}
	return out
}

func walkMethods(c *profiles.RequestMatch, set map[string]bool, depth int) {
	if c == nil || depth > 32 {
		return
	}
	if c.Method != "" {
		set[strings.ToUpper(c.Method)] = true
	}
	for _, list := range [][]profiles.RequestMatch{c.All, c.Any, c.Not} {
		for i := range list {
			walkMethods(&list[i], set, depth+1)
		}
	}
}

// route is the ServiceProfile's choice: the first route whose condition matches.
func (om *oldModel) route(matches func(string) bool, method string) (string, Policy) {
	for _, r := range om.Routes {
		if condMatches(r.Cond, matches, method, 0) {
			return fmt.Sprintf("route %q", r.Name), r.Policy
		}
	}
	return "no route", om.Default
}

// condMatches evaluates a route condition as the proxy does; the CRD's `not` list matches
// when none of its conditions does.
func condMatches(c *profiles.RequestMatch, matches func(string) bool, method string, depth int) bool {
	if c == nil || depth > 32 {
		return false
	}
	if c.PathRegex != "" && !matches(c.PathRegex) {
		return false
	}
	if c.Method != "" && !strings.EqualFold(c.Method, method) {
		return false
	}
	for i := range c.All {
		if !condMatches(&c.All[i], matches, method, depth+1) {
			return false
		}
	}
	if len(c.Any) > 0 && !slices.ContainsFunc(c.Any, func(x profiles.RequestMatch) bool { return condMatches(&x, matches, method, depth+1) }) {
		return false
	}
	return !slices.ContainsFunc(c.Not, func(x profiles.RequestMatch) bool { return condMatches(&x, matches, method, depth+1) })
}

// route is the routes' choice by Linkerd's precedence: the longest match (a regex or exact
// match counts the whole path, a prefix its length), then a method match, then creation time
// and name (routes sorted by name, then rule order). tie names a different-policy match of
// another route that ranks the same.
func (nm *newModel) route(pr probe, method string) (string, Policy, string) {
	const whole = 1 << 30
	best, bestScore := -1, [2]int{}
	tie := ""
	for i, x := range nm.Matches {
		if !pr.matches(x.Regex) || (x.Method != "" && !strings.EqualFold(x.Method, method)) {
			continue
		}
		score := [2]int{whole, 0}
		if x.Prefix != "" && !pr.matches(regexp.QuoteMeta(x.Prefix)) {
			score[0] = len(x.Prefix)
		}
		if x.Method != "" {
			score[1] = 1
		}
		switch {
		case best < 0 || score[0] > bestScore[0] || score[0] == bestScore[0] && score[1] > bestScore[1]:
			best, bestScore, tie = i, score, ""
		case score == bestScore && x.Route != nm.Matches[best].Route && x.Policy != nm.Matches[best].Policy && tie == "":
			tie = x.Label
		}
	}
	if best < 0 {
		return "no rule: 404", Policy{Backends: "404"}, ""
	}
	return nm.Matches[best].Label, nm.Matches[best].Policy, tie
}
