package dashboards

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trafficctl/trafficctl/pkg/canary"
)

// describer records what a collector registers, so a test can read the real gauges' metric
// names and labels without a rollout to drive them.
type describer struct{ descs []string }

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 8)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		d.descs = append(d.descs, desc.String())
	}
	return nil
}
func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}
func (d *describer) Unregister(prometheus.Collector) bool { return false }

var descRE = regexp.MustCompile(`fqName: "(\w+)".*variableLabels: \{([^}]*)\}`)

// TestReleaseAnnotationsMatchCanaryGauges checks every dashboard carries the release
// annotations and that what they (and the fixture) select is what pkg/canary exports: the
// same metric names with the namespace label the annotations filter on.
func TestReleaseAnnotationsMatchCanaryGauges(t *testing.T) {
	var d describer
	canary.NewGauges(&d)
	exported := map[string][]string{}
	for _, s := range d.descs {
		m := descRE.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("unexpected Desc %s", s)
		}
		labels := strings.Split(m[2], ",")
		for i := range labels {
			labels[i] = strings.TrimSpace(labels[i])
		}
		sort.Strings(labels)
		exported[m[1]] = labels
	}
	for _, name := range []string{"release-weight", "release-phase"} {
		q := Queries[name]
		metric, _, _ := strings.Cut(q, "{")
		labels, ok := exported[metric]
		if !ok {
			t.Errorf("%s reads %s, which pkg/canary does not export (it exports %v)", name, metric, exported)
			continue
		}
		if !slices.Contains(labels, "namespace") {
			t.Errorf("%s filters on namespace, %s has labels %v", name, metric, labels)
		}
	}
	if l := exported["trafficctl_canary_phase"]; !slices.Contains(l, "phase") {
		t.Errorf("trafficctl_canary_phase labels %v: the phase annotation shows the phase label", l)
	}

	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for file, db := range all {
		var exprs []string
		for _, a := range db.Annotations.List {
			if a.Expr != nil {
				exprs = append(exprs, *a.Expr)
			}
		}
		for _, name := range []string{"release-weight", "release-phase"} {
			if !slices.Contains(exprs, Queries[name]) {
				t.Errorf("%s has no %s annotation", file, name)
			}
		}
	}
}

// TestEdgeLinks checks the edges table links each row to Explore on Loki and on Jaeger, with
// queries built from a column the table really has (dst_deployment) and the dashboard's time
// range.
func TestEdgeLinks(t *testing.T) {
	db, err := Edges()
	if err != nil {
		t.Fatal(err)
	}
	b, err := JSON(db)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Panels []struct {
			Type        string `json:"type"`
			FieldConfig struct {
				Defaults struct {
					Links []struct{ Title, URL string }
				}
			}
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range m.Panels {
		if p.Type != "table" {
			continue
		}
		found = true
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, "by (deployment, dst_deployment)") && !strings.Contains(tg.Expr, "by (le, deployment, dst_deployment)") {
				t.Errorf("table query %s does not give the dst_deployment column the links use", tg.Expr)
			}
		}
		want := map[string]func(q map[string]any) bool{
			LokiUID:   func(q map[string]any) bool { return q["expr"] == EdgeLogsQuery },
			JaegerUID: func(q map[string]any) bool { return q["tags"] == EdgeTracesTags && q["service"] == "linkerd-proxy" },
		}
		for _, l := range p.FieldConfig.Defaults.Links {
			u, err := url.Parse(l.URL)
			if err != nil || u.Path != "/explore" {
				t.Errorf("link %q: %q is not an Explore link (%v)", l.Title, l.URL, err)
				continue
			}
			var panes map[string]struct {
				Datasource string
				Queries    []map[string]any
				Range      map[string]string
			}
			if err := json.Unmarshal([]byte(u.Query().Get("panes")), &panes); err != nil {
				t.Errorf("link %q: panes: %v", l.Title, err)
				continue
			}
			pane := panes["a"]
			check, ok := want[pane.Datasource]
			if !ok || len(pane.Queries) != 1 || !check(pane.Queries[0]) {
				t.Errorf("link %q: pane %+v", l.Title, pane)
			}
			if pane.Range["from"] != "${__from}" || pane.Range["to"] != "${__to}" {
				t.Errorf("link %q: range %v, want the dashboard's", l.Title, pane.Range)
			}
			delete(want, pane.Datasource)
		}
		if len(want) != 0 {
			t.Errorf("edges table has no link to %v", want)
		}
	}
	if !found {
		t.Fatal("edges dashboard has no table")
	}
}
