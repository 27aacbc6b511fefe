package profiles

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// findBadLocalRef looks for a local $ref ("#/...") that points nowhere and returns where it is
// written and what it says. kin-openapi's own error does not name the $ref, so this runs only
// after a load has failed, to tell the user which line to fix.
func findBadLocalRef(data []byte) (loc, ref string, found bool) {
	var root any
	if err := json.Unmarshal(data, &root); err != nil {
		return "", "", false
	}
	var walk func(v any, path string) bool
	walk = func(v any, path string) bool {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok && strings.HasPrefix(r, "#") {
				if !pointerResolves(root, r) {
					loc, ref = joinLoc(path, "$ref"), r
					return true
				}
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if walk(x[k], joinLoc(path, k)) {
					return true
				}
			}
		case []any:
			for i, e := range x {
				if walk(e, fmt.Sprintf("%s[%d]", path, i)) {
					return true
				}
			}
		}
		return false
	}
	found = walk(root, "")
	return loc, ref, found
}

// pointerResolves tells whether the JSON pointer fragment of ref exists in root.
func pointerResolves(root any, ref string) bool {
	frag := strings.TrimPrefix(ref, "#")
	if unescaped, err := url.PathUnescape(frag); err == nil {
		frag = unescaped
	}
	if frag == "" || frag == "/" {
		return true
	}
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := cur.(type) {
		case map[string]any:
			next, ok := x[tok]
			if !ok {
				return false
			}
			cur = next
		case []any:
			var i int
			if _, err := fmt.Sscanf(tok, "%d", &i); err != nil || i < 0 || i >= len(x) {
				return false
			}
			cur = x[i]
		default:
			return false
		}
	}
	return true
}
