package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// gRPC through the proxy: requests and responses are HTTP/2 streams whose status is the
// grpc-status trailer (or header, in a "trailers-only" error response) while the HTTP status
// stays 200. Linkerd classifies such a response by its grpc-status (non-zero is a failure) and
// labels the series with it (grpc_status="13"); so does this proxy.

// gRPC status codes the proxy answers with itself.
const (
	grpcDeadlineExceeded = "4"
	grpcUnavailable      = "14"
)

func isGRPC(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/grpc")
}

// grpcStatusOf reads the grpc-status a proxied response ended with, from the header map the
// reverse proxy wrote to: a declared trailer, a trailer announced only at the end (under
// http.TrailerPrefix) or a header. "" when the response was not gRPC.
func grpcStatusOf(h http.Header) string {
	if v := h.Get("Grpc-Status"); v != "" {
		return v
	}
	return h.Get(http.TrailerPrefix + "Grpc-Status")
}

// classify is Linkerd's default response classifier: a gRPC response by its status, anything
// else by the route's response classes (HTTP status >= 500 when it has none).
func (r *Route) classify(status int, grpcStatus string) bool {
	if grpcStatus != "" {
		return grpcStatus != "0"
	}
	return r.failed(status)
}

// grpcStatusKeys are the headers of a gRPC response's final status.
var grpcStatusKeys = []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}

// grpcTrailersOnly moves the status of a trailers-only gRPC response (an error answered in one
// HEADERS frame) into declared trailers. Relayed as headers, net/http may flush them before it
// knows the body is empty, and the client then sees a stream that ends without trailers
// ("server closed the stream without sending trailers") instead of the server's status.
func grpcTrailersOnly(res *http.Response) error {
	if !isGRPC(res.Header) || res.Header.Get("Grpc-Status") == "" {
		return nil
	}
	if res.Trailer == nil {
		res.Trailer = http.Header{}
	}
	for _, k := range grpcStatusKeys {
		if v, ok := res.Header[k]; ok {
			res.Trailer[k] = v
			delete(res.Header, k)
		}
	}
	return nil
}

// proxyError answers a request the proxy could not forward. Linkerd answers a timed out
// request 504 and an unreachable replica 502; to a gRPC client it answers HTTP 200 with
// grpc-status DEADLINE_EXCEEDED or UNAVAILABLE, which the client understands.
func proxyError(w http.ResponseWriter, r *http.Request, err error) {
	timedOut := errors.Is(r.Context().Err(), context.DeadlineExceeded)
	msg := "sandbox data plane: " + err.Error()
	if !isGRPC(r.Header) {
		code := http.StatusBadGateway
		if timedOut {
			code = http.StatusGatewayTimeout // the route's timeout, as Linkerd answers it
		}
		http.Error(w, msg, code)
		return
	}
	code := grpcUnavailable
	if timedOut {
		code = grpcDeadlineExceeded
	}
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	w.WriteHeader(http.StatusOK)
	w.Header().Set("Grpc-Status", code)
	w.Header().Set("Grpc-Message", grpcMessage(msg))
}

// grpcMessage percent-encodes a grpc-message value as the gRPC HTTP/2 protocol requires.
func grpcMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
