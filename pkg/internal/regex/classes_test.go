package regex

import (
	"fmt"
	"testing"
)

func TestPathClasses(t *testing.T) {
	tests := []struct {
		name  string
		exprs []string
		want  []string // "matches:example"
		ok    bool
	}{
		{"disjoint literals", []string{`/a`, `/b`}, []string{"00:", "10:/a", "01:/b"}, true},
		{"nested", []string{`/api/.*`, `/api/list`}, []string{"00:", "10:/api/", "11:/api/list"}, true},
		{"anchors refused", []string{`^/a`}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := PathClasses(tt.exprs, 0)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			var s []string
			for _, c := range got {
				m := ""
				for _, b := range c.Matches {
					m += map[bool]string{true: "1", false: "0"}[b]
				}
				s = append(s, m+":"+c.Example)
			}
			if fmt.Sprint(s) != fmt.Sprint(tt.want) {
				t.Errorf("classes = %v, want %v", s, tt.want)
			}
			for _, c := range got {
				for i, e := range tt.exprs {
					if MatchWhole(e, c.Example) != c.Matches[i] {
						t.Errorf("example %q: match of %s = %v, class says %v", c.Example, e, !c.Matches[i], c.Matches[i])
					}
				}
			}
		})
	}
}

func TestPathClassesLimit(t *testing.T) {
	if _, ok := PathClasses([]string{`/[a-z]{20}`}, 5); ok {
		t.Fatal("a product past the state limit must be refused")
	}
}
