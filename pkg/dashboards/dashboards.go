// Package dashboards builds trafficctl's Grafana dashboards as code, with the Grafana
// Foundation SDK: one for canary progress, one for load tests. The JSON in
// deploy/linkerd/grafana/dashboards is generated from here (go test ./pkg/dashboards -update)
// and a test keeps it current; another test runs every query against a real Prometheus.
package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceUID is the Prometheus datasource the dashboards read; deploy/linkerd/grafana's
// values provision linkerd-viz's Prometheus under this uid.
const DatasourceUID = "prometheus"

// Template variables the queries use. Grafana substitutes them; tests substitute fixtures.
const (
	VarNamespace  = "$namespace"
	VarDeployment = "$deployment"
	VarApex       = "$apex"
	VarInterval   = "$__rate_interval"
)

// inbound selects the server-side proxy metrics of the chosen workloads: what their callers got.
const inbound = `namespace="` + VarNamespace + `",deployment=~"` + VarDeployment + `",direction="inbound"`

// Queries are every PromQL expression the dashboards show, by name; docs/runbook.md uses the
// same ones.
var Queries = map[string]string{
	"canary-weight": `max by (canary) (trafficctl_canary_weight{namespace="` + VarNamespace + `",apex="` + VarApex + `"})`,
	"canary-phase":  `max by (phase) (trafficctl_canary_phase{namespace="` + VarNamespace + `",apex="` + VarApex + `"}) == 1`,
	"request-rate":  `sum by (deployment) (rate(request_total{` + inbound + `}[` + VarInterval + `]))`,
	// Flagger's success rate, per version.
	"success-rate":       `sum by (deployment) (rate(response_total{` + inbound + `,classification!="failure"}[` + VarInterval + `])) / sum by (deployment) (rate(response_total{` + inbound + `}[` + VarInterval + `])) * 100`,
	"latency-p50":        latency(0.50),
	"latency-p95":        latency(0.95),
	"latency-p99":        latency(0.99),
	"failures-by-status": `sum by (deployment, status_code) (rate(response_total{` + inbound + `,classification="failure"}[` + VarInterval + `]))`,
	// What the split really sends each backend, from the clients' HTTPRoute backend metrics.
	"backend-share":       `sum by (backend_name) (rate(outbound_http_route_backend_response_statuses_total{parent_name="` + VarApex + `"}[` + VarInterval + `])) / ignoring (backend_name) group_left sum(rate(outbound_http_route_backend_response_statuses_total{parent_name="` + VarApex + `"}[` + VarInterval + `])) * 100`,
	"responses-by-status": `sum by (status_code) (rate(response_total{` + inbound + `}[` + VarInterval + `]))`,
	"mtls-share":          `sum(rate(response_total{namespace="` + VarNamespace + `",direction="outbound",tls="true"}[` + VarInterval + `])) / sum(rate(response_total{namespace="` + VarNamespace + `",direction="outbound"}[` + VarInterval + `])) * 100`,
}

func latency(q float64) string {
	return fmt.Sprintf(`histogram_quantile(%g, sum by (le, deployment) (rate(response_latency_ms_bucket{%s}[%s])))`, q, inbound, VarInterval)
}

func datasource() common.DataSourceRef {
	typ, uid := "prometheus", DatasourceUID
	return common.DataSourceRef{Type: &typ, Uid: &uid}
}

func target(name, legend string) *prometheus.DataqueryBuilder {
	q, ok := Queries[name]
	if !ok {
		panic("dashboards: unknown query " + name)
	}
	return prometheus.NewDataqueryBuilder().Expr(q).LegendFormat(legend).Datasource(datasource()).RefId(name)
}

func series(title, unit string, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Unit(unit).Datasource(datasource()).Height(8).Span(12)
	for _, t := range targets {
		p = p.WithTarget(t)
	}
	return p
}

func variable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).Label(label).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Datasource(datasource()).Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
}

func namespaceVar() *dashboard.QueryVariableBuilder {
	return variable("namespace", "Namespace", "label_values(response_total, namespace)")
}

func deploymentVar() *dashboard.QueryVariableBuilder {
	return variable("deployment", "Workloads", `label_values(response_total{namespace="$namespace"}, deployment)`).
		Multi(true).IncludeAll(true).AllValue(".*")
}

// Canary is the canary-progress dashboard: weight and phase of the rollout, and the metrics
// the analysis judges (success rate, latency) for each version side by side.
func Canary() (dashboard.Dashboard, error) {
	return dashboard.NewDashboardBuilder("trafficctl / canary").
		Uid("trafficctl-canary").
		Tags([]string{"trafficctl", "linkerd", "canary"}).
		Description("Canary progress: traffic weight, phase, and each version's success rate and latency as the analysis sees them.").
		Refresh("10s").Time("now-30m", "now").Timezone(common.TimeZoneBrowser).Readonly().
		WithVariable(namespaceVar()).
		WithVariable(variable("apex", "Apex Service", `label_values(trafficctl_canary_weight{namespace="$namespace"}, apex)`)).
		WithVariable(deploymentVar()).
		WithRow(dashboard.NewRowBuilder("Rollout")).
		WithPanel(series("Canary weight", "percent", target("canary-weight", "{{canary}}")).Min(0).Max(100)).
		WithPanel(stat.NewPanelBuilder().Title("Phase").Datasource(datasource()).Height(8).Span(12).
			WithTarget(target("canary-phase", "{{phase}}").Instant())).
		WithPanel(series("Traffic share per backend (measured)", "percent", target("backend-share", "{{backend_name}}")).Min(0).Max(100)).
		WithRow(dashboard.NewRowBuilder("Analysis")).
		WithPanel(series("Success rate", "percent", target("success-rate", "{{deployment}}")).Max(100)).
		WithPanel(series("Latency p99", "ms", target("latency-p99", "{{deployment}}")).Min(0)).
		WithPanel(series("Request rate", "reqps", target("request-rate", "{{deployment}}")).Min(0)).
		WithPanel(series("Failures by status", "reqps", target("failures-by-status", "{{deployment}} {{status_code}}")).Min(0)).
		Build()
}

// LoadTest is the load-test dashboard: what the target served while `trafficctl load` ran
// (throughput, status codes, latency percentiles), and whether the traffic stayed mTLS.
func LoadTest() (dashboard.Dashboard, error) {
	return dashboard.NewDashboardBuilder("trafficctl / load test").
		Uid("trafficctl-load").
		Tags([]string{"trafficctl", "linkerd", "load"}).
		Description("The load test's target as its proxies saw it: throughput, responses by status, latency percentiles, mTLS share.").
		Refresh("5s").Time("now-15m", "now").Timezone(common.TimeZoneBrowser).Readonly().
		WithVariable(namespaceVar()).
		WithVariable(deploymentVar()).
		WithPanel(series("Request rate", "reqps", target("request-rate", "{{deployment}}")).Min(0)).
		WithPanel(series("Responses by status", "reqps", target("responses-by-status", "{{status_code}}")).Min(0)).
		WithPanel(series("Latency", "ms",
			target("latency-p50", "p50 {{deployment}}"), target("latency-p95", "p95 {{deployment}}"), target("latency-p99", "p99 {{deployment}}")).Min(0)).
		WithPanel(series("Success rate", "percent", target("success-rate", "{{deployment}}")).Max(100)).
		WithPanel(stat.NewPanelBuilder().Title("mTLS share of outbound responses").Unit("percent").Datasource(datasource()).Height(8).Span(12).
			WithTarget(target("mtls-share", "mTLS"))).
		Build()
}

// All returns every dashboard by file name.
func All() (map[string]dashboard.Dashboard, error) {
	out := map[string]dashboard.Dashboard{}
	for name, build := range map[string]func() (dashboard.Dashboard, error){
		"trafficctl-canary.json": Canary,
		"trafficctl-load.json":   LoadTest,
	} {
		d, err := build()
		if err != nil {
			return nil, fmt.Errorf("build dashboard %s: %w", name, err)
		}
		out[name] = d
	}
	return out, nil
}

// JSON renders a dashboard as Grafana's provisioning reads it.
func JSON(d dashboard.Dashboard) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode dashboard %s: %w", *d.Title, err)
	}
	return append(b, '\n'), nil
}
