package load

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes rep as a compact table in the layout of `vegeta report`, with the
// corrected latencies and the schedule (attempted rate, late sends) added.
func WriteText(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.StripEscape)
	m := rep.Metrics
	lat := func(l Latencies) string {
		return joinDur(l.Min, l.Mean, l.P50, l.P90, l.P95, l.P99, l.Max)
	}
	fmt.Fprintf(tw, "Requests\t[total, rate, throughput]\t%d, %.2f, %.2f\n", m.Requests, m.Rate, m.Throughput)
	fmt.Fprintf(tw, "Schedule\t[attempted rate, late sends, max lag]\t%.2f, %d, %s\n", rep.AttemptedRate, rep.LateSends, round(rep.MaxSendLag))
	fmt.Fprintf(tw, "Duration\t[total, attack, wait]\t%s, %s, %s\n", round(m.Duration+m.Wait), round(m.Duration), round(m.Wait))
	fmt.Fprintf(tw, "Latencies\t[min, mean, 50, 90, 95, 99, max]\t%s\n", lat(rep.RawLatencies))
	fmt.Fprintf(tw, "Corrected\t[min, mean, 50, 90, 95, 99, max]\t%s\n", lat(rep.CorrectedLatencies))
	fmt.Fprintf(tw, "Bytes In\t[total, mean]\t%d, %.2f\n", m.BytesIn.Total, m.BytesIn.Mean)
	fmt.Fprintf(tw, "Bytes Out\t[total, mean]\t%d, %.2f\n", m.BytesOut.Total, m.BytesOut.Mean)
	fmt.Fprintf(tw, "Success\t[ratio]\t%.2f%%\n", m.Success*100)
	fmt.Fprintf(tw, "Status Codes\t[code:count]\t%s\n", statusCodes(m.StatusCodes))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.Errors) > 0 {
		fmt.Fprintln(w, "Error Set:")
		for _, e := range m.Errors {
			fmt.Fprintln(w, e)
		}
	}
	return nil
}

func statusCodes(codes map[string]int) string {
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, codes[k]))
	}
	return strings.Join(parts, " ")
}

func joinDur(ds ...time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = round(d).String()
	}
	return strings.Join(parts, ", ")
}

// round keeps durations readable: microseconds below a second, milliseconds above.
func round(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}
