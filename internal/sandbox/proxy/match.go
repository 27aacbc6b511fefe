package proxy

import (
	"net/http"
	"regexp"
	"strings"
)

// rule is one HTTPRoute rule (or a TrafficSplit, one rule matching everything).
type rule struct {
	alts    []matchAlt
	weights []weighted
}

// matchAlt is one of a rule's matches: every part must hold.
type matchAlt struct {
	pathType, path string
	re             *regexp.Regexp
	method         string
	headers, query [][2]string
}

// score orders matching rules the way Linkerd does: path match length, then the number of
// header matches, query parameter matches and a method match. Ties keep the earlier rule.
type score [4]int

func (s score) better(o score) bool {
	for i := range s {
		if s[i] != o[i] {
			return s[i] > o[i]
		}
	}
	return false
}

// parseMatch reads split.RuleSplit.Match ("PathPrefix /api, GET, header x=1 | Exact /"); an
// empty match (a TrafficSplit) matches every request.
func parseMatch(m string) []matchAlt {
	if strings.TrimSpace(m) == "" {
		return []matchAlt{{pathType: "PathPrefix", path: "/"}}
	}
	var alts []matchAlt
	for _, altStr := range strings.Split(m, " | ") {
		a := matchAlt{pathType: "PathPrefix", path: "/"}
		for _, part := range strings.Split(altStr, ", ") {
			kind, rest, _ := strings.Cut(part, " ")
			switch kind {
			case "PathPrefix", "Exact", "RegularExpression":
				a.pathType, a.path = kind, rest
				if kind == "RegularExpression" {
					a.re, _ = regexp.Compile("^(?:" + rest + ")$")
				}
			case "header", "query":
				n, v, _ := strings.Cut(rest, "=")
				if kind == "header" {
					a.headers = append(a.headers, [2]string{n, v})
				} else {
					a.query = append(a.query, [2]string{n, v})
				}
			default:
				if rest == "" && kind != "" {
					a.method = kind
				}
			}
		}
		alts = append(alts, a)
	}
	return alts
}

func (a matchAlt) match(req *http.Request) (score, bool) {
	p := req.URL.Path
	var pathLen int
	switch a.pathType {
	case "Exact":
		if p != a.path {
			return score{}, false
		}
		pathLen = len(p)
	case "RegularExpression":
		if a.re == nil || !a.re.MatchString(p) {
			return score{}, false
		}
		pathLen = len(p)
	default:
		prefix := strings.TrimSuffix(a.path, "/")
		// Gateway API prefixes match whole path elements: /api matches /api and /api/x, not /apix.
		if prefix != "" && p != prefix && !strings.HasPrefix(p, prefix+"/") {
			return score{}, false
		}
		pathLen = len(a.path)
	}
	if a.method != "" && !strings.EqualFold(a.method, req.Method) {
		return score{}, false
	}
	for _, h := range a.headers {
		if req.Header.Get(h[0]) != h[1] {
			return score{}, false
		}
	}
	q := req.URL.Query()
	for _, kv := range a.query {
		if q.Get(kv[0]) != kv[1] {
			return score{}, false
		}
	}
	method := 0
	if a.method != "" {
		method = 1
	}
	return score{pathLen, len(a.headers), len(a.query), method}, true
}
