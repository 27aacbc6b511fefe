package load

import (
	"fmt"
	"net/http"
	"sort"

	"golang.org/x/net/http/httpguts"
)

// checkHeaders rejects header names and values that net/http would refuse to send: on the raw
// connection path (--connections) a value with CR or LF would otherwise end the header and
// smuggle a second request onto the connection. Every target goes through it before any
// transport sees it.
func checkHeaders(h http.Header) error {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		for _, v := range h[k] {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("invalid value %q of header %s: no control characters (CR, LF, NUL) allowed", v, k)
			}
		}
	}
	if host := h.Get("Host"); host != "" && !httpguts.ValidHostHeader(host) {
		return fmt.Errorf("invalid Host header %q", host)
	}
	return nil
}
