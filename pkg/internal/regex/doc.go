// Package regex owns the regex operations that trafficctl's route generation needs and Go's
// regexp package does not have: the difference of regexes ("this segment minus its siblings"),
// the complement of word sets, shapes and suffixes, and sampling strings a regex matches.
//
// Gateway API route precedence (Linkerd's rules) ties two full-path regex matches of the same
// method and breaks the tie by creation time and name, not by listed order, so every generated
// HTTPRoute regex must exclude the requests of the more specific routes before it. RE2 has no
// lookahead, so each exclusion is spelled out as a regex of its own.
//
// It is hand-written because Go's regexp (and regexp/syntax) offers parsing and matching but
// no automaton operations, and no maintained Go library does complement, difference or
// minimization of regular languages. The constructions are small: a product of the regexes'
// automata over the character intervals they distinguish, Moore's minimization, and state
// elimination back to a regex, plus tries for word sets; the tests check each against brute
// force and fuzzing.
//
// Every construction answers ok=false rather than return a regex longer than MaxLength or one
// it cannot build exactly; callers then fall back (pkg/profiles reports a tie).
package regex

// MaxLength is the longest regex the constructions return: the Gateway API CRDs' limit on a
// path match value, the only place their regexes go.
const MaxLength = 1024
