// Package dashboards builds trafficctl's Grafana dashboards as code, with the Grafana
// Foundation SDK: one for canary progress, one for load tests, one for the edges between
// workloads (linking a slow edge to its access logs and traces). The JSON in
// deploy/linkerd/grafana/dashboards is generated from here (make generate)
// and a test keeps it current; another test runs every query against a real Prometheus.
package dashboards

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceUID is the Prometheus datasource the dashboards read; deploy/linkerd/grafana's
// values provision linkerd-viz's Prometheus under this uid.
const DatasourceUID = "prometheus"

// Datasource uids of the logs (Loki) and traces (Jaeger) the edges dashboard links to,
// provisioned by deploy/linkerd/grafana's values.
const (
	LokiUID   = "loki"
	JaegerUID = "jaeger"
)

// Template variables the queries use. Grafana substitutes them; tests substitute fixtures.
const (
	VarNamespace  = "$namespace"
	VarDeployment = "$deployment"
	VarApex       = "$apex"
	VarInterval   = "$__rate_interval"
)

// edge selects the client-side proxy metrics of calls between workloads of the namespace.
const edge = `namespace="` + VarNamespace + `",direction="outbound",dst_deployment!=""`

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
	// Release annotations: a mark each time a rollout's weight changes (showing the new
	// weight) and each time it enters a phase (the phase whose gauge just became 1).
	"release-weight": `trafficctl_canary_weight{namespace="` + VarNamespace + `"} and changes(trafficctl_canary_weight{namespace="` + VarNamespace + `"}[` + VarInterval + `]) > 0`,
	"release-phase":  `trafficctl_canary_phase{namespace="` + VarNamespace + `"} == 1 and changes(trafficctl_canary_phase{namespace="` + VarNamespace + `"}[` + VarInterval + `]) > 0`,
	// Edges, as the calling proxy measured them.
	"edge-latency-p99":  `histogram_quantile(0.99, sum by (le, deployment, dst_deployment) (rate(response_latency_ms_bucket{` + edge + `}[` + VarInterval + `])))`,
	"edge-request-rate": `sum by (deployment, dst_deployment) (rate(response_total{` + edge + `}[` + VarInterval + `]))`,
	"edge-success-rate": `sum by (deployment, dst_deployment) (rate(response_total{` + edge + `,classification!="failure"}[` + VarInterval + `])) / sum by (deployment, dst_deployment) (rate(response_total{` + edge + `}[` + VarInterval + `])) * 100`,
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

// releases are the annotations every dashboard carries: canary weight changes and phase
// changes from the canary controller's gauges, so a shift in the graphs lines up with the
// release step that caused it.
func releases() []cog.Builder[dashboard.AnnotationQuery] {
	return []cog.Builder[dashboard.AnnotationQuery]{
		dashboard.NewAnnotationQueryBuilder().Name("Canary weight").Datasource(datasource()).
			Enable(true).IconColor("blue").Expr(Queries["release-weight"]),
		dashboard.NewAnnotationQueryBuilder().Name("Canary phase").Datasource(datasource()).
			Enable(true).IconColor("orange").Expr(Queries["release-phase"]),
	}
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
		Annotations(releases()).
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
		Annotations(releases()).
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

// exploreURL is a Grafana Explore link querying one datasource over the dashboard's time
// range. Grafana's ${...} variables are left unescaped so Grafana fills them in on click.
func exploreURL(typ, uid string, query map[string]any) string {
	query["refId"] = "A"
	query["datasource"] = map[string]string{"type": typ, "uid": uid}
	panes := map[string]any{"a": map[string]any{
		"datasource": uid,
		"queries":    []any{query},
		"range":      map[string]string{"from": "${__from}", "to": "${__to}"},
	}}
	b, err := json.Marshal(panes)
	if err != nil {
		panic("dashboards: explore link: " + err.Error())
	}
	return "/explore?schemaVersion=1&orgId=1&panes=" + escapeAround(string(b))
}

// grafanaVar matches a Grafana variable: ${name}, ${__data.fields.name}.
var grafanaVar = regexp.MustCompile(`\$\{[\w.]+\}`)

// escapeAround query-escapes s except its Grafana variables, which Grafana must still find.
func escapeAround(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range grafanaVar.FindAllStringIndex(s, -1) {
		b.WriteString(url.QueryEscape(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(url.QueryEscape(s[last:]))
	return b.String()
}

// EdgeLogsQuery is the LogQL the edges table links to: the JSON access log lines of the
// called workload's proxy (one per request it served), as the collector ships them to Loki.
const EdgeLogsQuery = `{k8s_namespace_name="${namespace}", k8s_deployment_name="${__data.fields.dst_deployment}", k8s_container_name="linkerd-proxy"} | json`

// EdgeTracesTags is the Jaeger search the edges table links to: the proxies' spans of the
// called workload (the collector tags them with the pod's Deployment).
const EdgeTracesTags = `k8s.deployment.name=${__data.fields.dst_deployment}`

func edgeLinks() []cog.Builder[dashboard.DashboardLink] {
	link := func(title, u string) cog.Builder[dashboard.DashboardLink] {
		return dashboard.NewDashboardLinkBuilder(title).Type(dashboard.DashboardLinkTypeLink).Url(u).TargetBlank(true)
	}
	return []cog.Builder[dashboard.DashboardLink]{
		link("Access logs of ${__data.fields.dst_deployment}", exploreURL("loki", LokiUID, map[string]any{"expr": EdgeLogsQuery, "queryType": "range"})),
		link("Traces through ${__data.fields.dst_deployment}", exploreURL("jaeger", JaegerUID, map[string]any{"queryType": "search", "service": "linkerd-proxy", "tags": EdgeTracesTags, "limit": 20})),
	}
}

// Edges is the edges dashboard: every call between workloads of a namespace with its p99,
// rate and success rate, slowest first; a row links to the called workload's access logs
// (Loki) and traces (Jaeger) over the same time range.
func Edges() (dashboard.Dashboard, error) {
	instant := func(name string) *prometheus.DataqueryBuilder {
		return target(name, "").Instant().Format(prometheus.PromQueryFormatTable)
	}
	return dashboard.NewDashboardBuilder("trafficctl / edges").
		Uid("trafficctl-edges").
		Tags([]string{"trafficctl", "linkerd", "edges"}).
		Description("Calls between workloads as the calling proxies measured them, slowest first; each row links to the called workload's access logs and traces.").
		Refresh("30s").Time("now-15m", "now").Timezone(common.TimeZoneBrowser).Readonly().
		Annotations(releases()).
		WithVariable(namespaceVar()).
		WithPanel(table.NewPanelBuilder().Title("Edges, slowest first (click a row for its logs and traces)").
			Datasource(datasource()).Height(10).Span(24).
			WithTarget(instant("edge-latency-p99")).
			WithTarget(instant("edge-request-rate")).
			WithTarget(instant("edge-success-rate")).
			// One row per edge: merge the three instant tables on their labels.
			WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
			WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
				"excludeByName": map[string]bool{"Time": true},
				"renameByName": map[string]string{
					"deployment":               "from",
					"dst_deployment":           "to",
					"Value #edge-latency-p99":  "p99 (ms)",
					"Value #edge-request-rate": "requests/s",
					"Value #edge-success-rate": "success %",
				},
			}}).
			SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("p99 (ms)").Desc(true)}).
			DataLinks(edgeLinks())).
		WithPanel(series("Edge latency p99", "ms", target("edge-latency-p99", "{{deployment}} → {{dst_deployment}}")).Min(0)).
		WithPanel(series("Edge success rate", "percent", target("edge-success-rate", "{{deployment}} → {{dst_deployment}}")).Max(100)).
		Build()
}

// All returns every dashboard by file name.
func All() (map[string]dashboard.Dashboard, error) {
	out := map[string]dashboard.Dashboard{}
	for name, build := range map[string]func() (dashboard.Dashboard, error){
		"trafficctl-canary.json": Canary,
		"trafficctl-load.json":   LoadTest,
		"trafficctl-edges.json":  Edges,
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
