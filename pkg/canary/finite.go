package canary

import (
	"fmt"
	"math"
)

// finiteChecks returns checks whose values JSON can encode: a NaN or ±Inf value (a custom
// query dividing by zero) moves into the detail as text and the value is dropped. An audit
// entry with such a value would otherwise encode as nothing and break the log's hash chain.
func finiteChecks(checks []Check) []Check {
	var out []Check
	for i, ch := range checks {
		if ch.Value == nil || !(math.IsNaN(*ch.Value) || math.IsInf(*ch.Value, 0)) {
			continue
		}
		if out == nil {
			out = append([]Check(nil), checks...)
		}
		out[i].Value = nil
		out[i].Detail = fmt.Sprintf("%s (value %g)", ch.Detail, *ch.Value)
	}
	if out == nil {
		return checks
	}
	return out
}
