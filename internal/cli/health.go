package cli

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// gaugesHandler serves the gauges on /metrics (and, as before, on any other path) and the
// kubelet's probes: /healthz answers while the process serves, /readyz once it is ready to
// take over a rollout (at once: a standby replica is ready to win the leader election).
func gaugesHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	}
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/readyz", ok)
	mux.Handle("/", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
