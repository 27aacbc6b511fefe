package profiles

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"

	"github.com/trafficctl/trafficctl/internal/testing/golden"
	"github.com/trafficctl/trafficctl/pkg/internal/regex"
)

// corpusSpecs lists the contracts of the test corpus.
func corpusSpecs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/specs/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	return files
}

func loadCorpus(t testing.TB, file string, warn func(string)) *API {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	api, err := ParseOpenAPI(context.Background(), file, data, OpenAPIOptions{Warn: warn, AllowExternalRefs: true})
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	return api
}

func testOptions() Options {
	return Options{Service: "web", Namespace: "demo"}
}

// checkGolden compares got with testdata/golden/name, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Assert(t, filepath.Join("testdata", "golden", name), got)
}

// render is what `trafficctl profile` prints: warnings (stderr) as comments, then the YAML.
func render(t *testing.T, file string, opts Options, emit func(*Plan) any) []byte {
	var buf bytes.Buffer
	warn := func(msg string) { buf.WriteString("# warning: " + strings.TrimPrefix(msg, file+": ") + "\n") }
	api := loadCorpus(t, file, warn)
	plan, err := NewPlan(api, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range plan.Overlaps {
		warn(o.String())
	}
	out, err := yaml.Marshal(emit(plan))
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(out)
	return buf.Bytes()
}

func TestGoldenServiceProfiles(t *testing.T) {
	for _, file := range corpusSpecs(t) {
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		t.Run(name, func(t *testing.T) {
			got := render(t, file, testOptions(), func(p *Plan) any { return p.ServiceProfile() })
			checkGolden(t, name+".serviceprofile.yaml", got)
		})
	}
	t.Run("emojivoto-idempotent-timeout-budget", func(t *testing.T) {
		opts := testOptions()
		opts.Retries, opts.Timeout, opts.ClusterDomain = RetriesIdempotent, "1s", "example.org"
		budget, err := ParseRetryBudget("0.25,5,30s")
		if err != nil {
			t.Fatal(err)
		}
		opts.RetryBudget = budget
		got := render(t, "testdata/specs/emojivoto-web.yaml", opts, func(p *Plan) any { return p.ServiceProfile() })
		checkGolden(t, "emojivoto-web.idempotent.serviceprofile.yaml", got)
	})
}

func yamlOf(v any) ([]byte, error) { return yaml.Marshal(v) }

// samplePath builds a random concrete path of an operation from its parameter schemas.
func samplePath(t *testing.T, op *Operation, rng *rand.Rand) string {
	t.Helper()
	var b strings.Builder
	for _, seg := range op.Segments {
		b.WriteByte('/')
		for _, p := range seg {
			if p.Kind == KindLiteral {
				b.WriteString(p.Literal)
				continue
			}
			v, err := regex.Sample(p.Regex, rng)
			if err != nil {
				t.Fatalf("%s: sample {%s} from %q: %v", op.Location, p.Param, p.Regex, err)
			}
			b.WriteString(v)
		}
	}
	return b.String()
}

// firstMatch is the route the Linkerd proxy picks for a request to a ServiceProfile: the first
// whose method matches and whose regex matches the whole path.
func firstMatch(t *testing.T, sp *ServiceProfile, method, path string) string {
	t.Helper()
	for _, r := range sp.Spec.Routes {
		if r.Condition.Method != "" && r.Condition.Method != method {
			continue
		}
		if regex.MatchWhole(r.Condition.PathRegex, path) {
			return r.Name
		}
	}
	return ""
}

// TestFirstMatchProperty: a request to an operation reaches that operation's own route first,
// unless the generator reported the overlap that prevents it.
func TestFirstMatchProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, file := range corpusSpecs(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			plan, err := NewPlan(loadCorpus(t, file, nil), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			reported := map[[2]string]bool{}
			for _, o := range plan.Overlaps {
				reported[[2]string{o.First, o.Second}] = true
			}
			sp := plan.ServiceProfile()
			checked := 0
			for i := range plan.Routes {
				r := &plan.Routes[i]
				for range 40 {
					path := samplePath(t, &r.Operation, rng)
					got := firstMatch(t, sp, r.Method, path)
					if got == r.Name {
						checked++
						continue
					}
					// A path of a more specific sibling ("/langs/en" of "/langs/{name}" is one
					// of "/langs/{code}") rightly goes to that sibling.
					if !reported[[2]string{got, r.Name}] && !moreSpecific(plan, got, r) {
						t.Errorf("%s %s (operation %s) is matched first by %q, not by its route %q, and no overlap was reported", r.Method, path, r.Location, got, r.Name)
					}
				}
			}
			if checked == 0 {
				t.Fatal("no request reached its own route")
			}
		})
	}
}

// moreSpecific tells whether the route named name matches a strict subset of r's requests.
func moreSpecific(plan *Plan, name string, r *Route) bool {
	for i := range plan.Routes {
		o := &plan.Routes[i]
		if o.Name == name {
			return o.Method == r.Method && len(o.Segments) == len(r.Segments) && routeSubset(o, r) && !routeSubset(r, o)
		}
	}
	return false
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		file string
		want []string
	}{
		{"not-a-spec.yaml", []string{"not an OpenAPI document"}},
		{"unknown-version.yaml", []string{"openapi: unsupported version \"4.0.0\""}},
		{"swagger-1.yaml", []string{"swagger: unsupported version"}},
		{"bad-ref.yaml", []string{"paths./pets/{id}.parameters[0].$ref", "#/components/parameters/Missing"}},
		{"bad-ref-v2.yaml", []string{"paths./pets/{id}.get.parameters[0].$ref", "#/parameters/missing"}},
		{"bad-timeout.yaml", []string{"paths./pets.x-linkerd-timeout", "\"5 seconds\""}},
		{"bad-retryable.yaml", []string{"x-linkerd-retryable: must be true or false"}},
		{"bad-failure.yaml", []string{"paths./pets.get.responses.503.x-linkerd-failure"}},
		{"syntax.json", []string{"line 3, column 20"}},
		{"paths-array.yaml", []string{"paths of the document must not be an array"}},
		{"paths-number-v2.yaml", []string{"paths: must be an object, not number"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			file := filepath.Join("testdata", "bad", tc.file)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			api, err := ParseOpenAPI(context.Background(), file, data, OpenAPIOptions{})
			if err == nil {
				t.Fatalf("parsed into %d operations, want an error", len(api.Operations))
			}
			if !IsInputError(err) {
				t.Errorf("error %v is not an InputError", err)
			}
			for _, w := range append([]string{file}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := ReadSource(context.Background(), "testdata/nope.yaml", nil, nil)
		if !IsInputError(err) || !strings.Contains(err.Error(), "testdata/nope.yaml: no such file") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("unreadable URL", func(t *testing.T) {
		_, err := ReadSource(context.Background(), "http://127.0.0.1:1/openapi.yaml", nil, nil)
		if !IsInputError(err) || !strings.Contains(err.Error(), "cannot read URL") {
			t.Errorf("got %v", err)
		}
	})
}

func TestTypeParam(t *testing.T) {
	zero := 0.0
	cases := []struct {
		name   string
		schema ParamSchema
		want   string
	}{
		{"integer", ParamSchema{Types: []string{"integer"}}, integerRegex},
		{"unsigned integer", ParamSchema{Types: []string{"integer"}, Minimum: &zero}, uintRegex},
		{"nullable integer (3.1)", ParamSchema{Types: []string{"integer", "null"}}, integerRegex},
		{"two types", ParamSchema{Types: []string{"integer", "string"}}, anyRegex},
		{"uuid", ParamSchema{Types: []string{"string"}, Format: "uuid"}, uuidRegex},
		{"enum with metacharacters", ParamSchema{Types: []string{"string"}, Enum: []any{"a.b", "c|d", "a.b"}}, `(?:a\.b|c\|d)`},
		{"numeric enum", ParamSchema{Types: []string{"integer"}, Enum: []any{1.0, 20.0}}, `(?:1|20)`},
		{"enum with a slash falls back", ParamSchema{Types: []string{"string"}, Enum: []any{"a/b"}}, anyRegex},
		{"safe pattern", ParamSchema{Types: []string{"string"}, Pattern: `^[a-z]+$`}, `(?:[a-z]+)`},
		{"pattern with dot", ParamSchema{Types: []string{"string"}, Pattern: `^a.+$`}, anyRegex},
		{"pattern matching empty", ParamSchema{Types: []string{"string"}, Pattern: `[a-z]*`}, anyRegex},
		{"pattern with lookahead", ParamSchema{Types: []string{"string"}, Pattern: `(?=a)b`}, anyRegex},
		{"pattern allowing slash", ParamSchema{Types: []string{"string"}, Pattern: `[^a]+`}, anyRegex},
		{"matrix style", ParamSchema{Types: []string{"integer"}, Style: "matrix"}, anyRegex},
		{"boolean", ParamSchema{Types: []string{"boolean"}}, booleanRegex},
		{"no schema", ParamSchema{}, anyRegex},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := TypeParam(tc.schema).Regex; got != tc.want {
				t.Errorf("regex %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseRetryBudget(t *testing.T) {
	b, err := ParseRetryBudget("0.2, 10, 10s")
	if err != nil || b.RetryRatio != 0.2 || b.MinRetriesPerSecond != 10 || b.TTL != "10s" {
		t.Fatalf("got %+v, %v", b, err)
	}
	for _, bad := range []string{"", "0.2,10", "x,10,10s", "0.2,-1,10s", "0.2,10,ten", "-1,1,1s", "0.2,1,0s"} {
		if _, err := ParseRetryBudget(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestNoTopLevelNot(t *testing.T) {
	for _, file := range corpusSpecs(t) {
		plan, err := NewPlan(loadCorpus(t, file, nil), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range plan.ServiceProfile().Spec.Routes {
			if len(r.Condition.Not) > 0 {
				t.Errorf("%s: route %q has a top-level not", file, r.Name)
			}
			if _, err := regexp.Compile(r.Condition.PathRegex); err != nil {
				t.Errorf("%s: route %q: regex does not compile: %v", file, r.Name, err)
			}
		}
	}
}

func FuzzParseOpenAPI(f *testing.F) {
	for _, dir := range []string{"testdata/specs/*", "testdata/bad/*"} {
		files, _ := filepath.Glob(dir)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		api, err := ParseOpenAPI(context.Background(), "fuzz.yaml", data, OpenAPIOptions{})
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("error is not an InputError: %v", err)
			}
			return
		}
		plan, err := NewPlan(api, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range plan.ServiceProfile().Spec.Routes {
			if _, err := regexp.Compile(r.Condition.PathRegex); err != nil {
				t.Fatalf("route %q: regex %q: %v", r.Name, r.Condition.PathRegex, err)
			}
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/pets/{id}", "/a/{b}.{c}/d", "/{", "/}{", "/x/{}/y", "/v1.0/(x)+/[y]", "/", ""} {
		f.Add(s, "^[a-z]{2}$")
	}
	f.Fuzz(func(t *testing.T, path, pattern string) {
		segs := ParseTemplate(path, func(string) (Part, bool) {
			return TypeParam(ParamSchema{Types: []string{"string"}, Pattern: pattern}), true
		}, func(string) {})
		op := Operation{Method: "GET", Path: path, Segments: segs}
		re, err := regexp.Compile("^" + op.PathRegex() + "$")
		if err != nil {
			t.Fatalf("template %q pattern %q: regex %q: %v", path, pattern, op.PathRegex(), err)
		}
		rng := rand.New(rand.NewPCG(1, 1))
		var b strings.Builder
		for _, s := range segs {
			b.WriteByte('/')
			for _, p := range s {
				if p.Kind == KindLiteral {
					b.WriteString(p.Literal)
					continue
				}
				v, err := regex.Sample(p.Regex, rng)
				if err != nil {
					t.Fatal(err)
				}
				if v == "" || strings.Contains(v, "/") {
					t.Fatalf("parameter regex %q produced %q", p.Regex, v)
				}
				b.WriteString(v)
			}
		}
		if !re.MatchString(b.String()) {
			t.Fatalf("regex %q does not match its own sample %q", op.PathRegex(), b.String())
		}
	})
}

func TestServerBase(t *testing.T) {
	cases := map[string]string{
		"https://api.example.com/v1/":          "/v1",
		"https://api.example.com":              "",
		"/api":                                 "/api",
		"./v2":                                 "/v2",
		"v3/x":                                 "/v3/x",
		"{scheme}://host/{missing}/base":       "/base",
		"https://{host}:{port}/a b/c?x=1#frag": "/a b/c",
	}
	for in, want := range cases {
		r := &reader{source: "t", warn: func(string) {}}
		got, err := r.serverBase(openapi3.Servers{{URL: in}}, "servers")
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}
