package split

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/trafficctl/trafficctl/pkg/smi"
)

// PrintTable writes the split as two tables: the weights with their shares, then each object
// and rule that carries them.
func PrintTable(w io.Writer, s *Split) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "APEX\t%s/%s\n", s.Namespace, s.Apex)
	fmt.Fprintf(tw, "ROUTER\t%s\n", s.Router)
	if !s.Uniform {
		fmt.Fprintf(tw, "WARNING\trules disagree on the weights: `split set` makes them uniform\n")
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(tw, "WARNING\t%s\n", w)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "BACKEND\tWEIGHT\tSHARE")
	if len(s.Backends) == 0 {
		fmt.Fprintf(tw, "%s (apex itself)\t-\t100%%\n", s.Apex)
	}
	ws := make([]int64, len(s.Backends))
	for i, b := range s.Backends {
		ws[i] = b.Weight
	}
	for i, share := range smi.Percentages(ws) {
		fmt.Fprintf(tw, "%s\t%d\t%d%%\n", s.Backends[i].Service, s.Backends[i].Weight, share)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "OBJECT\tRULE\tMATCH\tBACKENDS")
	for _, r := range s.Rules {
		rule, match := "-", "all"
		if r.Rule >= 0 {
			rule, match = fmt.Sprint(r.Rule), r.Match
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Object, rule, match, FormatBackends(r.Backends))
	}
	return tw.Flush()
}
