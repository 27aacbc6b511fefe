package profiles

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"
)

// Vendor extensions read from OpenAPI documents, at document, path-item and operation level
// (the innermost wins), and on response objects.
const (
	ExtRetryable = "x-linkerd-retryable"
	ExtTimeout   = "x-linkerd-timeout"
	// ExtFailure on a response object overrides Linkerd's default classification (5xx fails).
	ExtFailure = "x-linkerd-failure"
)

// methodOrder lists HTTP methods in the order their operations are read.
var methodOrder = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "QUERY"}

// OpenAPIOptions tune how an OpenAPI document is read.
type OpenAPIOptions struct {
	// Warn receives problems the reader worked around; nil discards them.
	Warn func(string)
	// AllowExternalRefs lets $refs load other files or URLs relative to the source. A remote
	// document's $refs stay within its origin and RefOrigins, and never read local files.
	AllowExternalRefs bool
	// RefOrigins are further origins (https://schemas.example.com) a remote document's $refs
	// may read.
	RefOrigins []string
}

// ParseOpenAPI reads a Swagger 2.0, OpenAPI 3.0, 3.1 or 3.2 document (JSON or YAML). source names
// the document in messages and anchors relative $refs.
func ParseOpenAPI(ctx context.Context, source string, data []byte, opts OpenAPIOptions) (*API, error) {
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}
	jsonData, err := toJSON(source, data)
	if err != nil {
		return nil, err
	}
	var head struct {
		Swagger json.RawMessage `json:"swagger"`
		OpenAPI json.RawMessage `json:"openapi"`
	}
	if err := json.Unmarshal(jsonData, &head); err != nil {
		if loc := jsonSyntaxLocation(jsonData, err); loc != "" {
			return nil, InputErrorf(source, loc, "not a JSON or YAML document: %v", err)
		}
		return nil, InputErrorf(source, "", "not an OpenAPI document: the top level must be an object with \"openapi\" or \"swagger\"")
	}
	r := &reader{source: source, warn: warn}
	switch {
	case head.Swagger != nil:
		v, ok := versionString(head.Swagger)
		if !ok || v != "2.0" {
			return nil, InputErrorf(source, "swagger", "unsupported version %s: trafficctl reads swagger \"2.0\" and openapi 3.0, 3.1 and 3.2", head.Swagger)
		}
		return r.swagger2(jsonData)
	case head.OpenAPI != nil:
		v, ok := versionString(head.OpenAPI)
		if !ok {
			return nil, InputErrorf(source, "openapi", "the version must be a string such as \"3.1.0\", not %s", head.OpenAPI)
		}
		if !(strings.HasPrefix(v, "3.0") || strings.HasPrefix(v, "3.1") || strings.HasPrefix(v, "3.2")) {
			return nil, InputErrorf(source, "openapi", "unsupported version %q: trafficctl reads swagger \"2.0\" and openapi 3.0, 3.1 and 3.2", v)
		}
		return r.openapi3(ctx, jsonData, opts)
	default:
		return nil, InputErrorf(source, "", "not an OpenAPI document: no \"openapi\" or \"swagger\" version at the top level")
	}
}

// toJSON returns data as JSON, converting YAML (a superset of JSON) when needed.
func toJSON(source string, data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, InputErrorf(source, "", "not an OpenAPI document: the input is empty")
	}
	if trimmed[0] == '{' {
		return trimmed, nil
	}
	out, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, InputErrorf(source, "", "not a JSON or YAML document: %v", err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(out), []byte("{")) {
		return nil, InputErrorf(source, "", "not an OpenAPI document: the top level must be an object with \"openapi\" or \"swagger\"")
	}
	return out, nil
}

func versionString(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// reader walks one document; the format-specific walkers feed it.
type reader struct {
	source string
	warn   func(string)
	ops    []Operation
}

func (r *reader) warnf(format string, args ...any) {
	r.warn(r.source + ": " + fmt.Sprintf(format, args...))
}

// policy is the retry/timeout policy at one level of the document.
type policy struct {
	retryable *bool
	timeout   string
}

// inherit reads the extensions of one level over the policy of its parent: innermost wins.
func (r *reader) inherit(parent policy, ext map[string]any, loc string) (policy, error) {
	p := parent
	if v, ok := ext[ExtRetryable]; ok {
		b, err := r.retryableValue(v, loc)
		if err != nil {
			return p, err
		}
		p.retryable = &b
	}
	if v, ok := ext[ExtTimeout]; ok {
		s, ok := v.(string)
		if !ok {
			return p, InputErrorf(r.source, joinLoc(loc, ExtTimeout), "timeout must be a duration string such as \"500ms\" or \"10s\", not %v", v)
		}
		if _, err := time.ParseDuration(s); err != nil {
			return p, InputErrorf(r.source, joinLoc(loc, ExtTimeout), "invalid duration %q: use a Go duration such as \"500ms\" or \"10s\"", s)
		}
		p.timeout = s
	}
	return p, nil
}

func (r *reader) retryableValue(v any, loc string) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			r.warnf("%s: %s is the string %q; read as the boolean %t (write it without quotes)", joinLoc(loc, ExtRetryable), ExtRetryable, x, b)
			return b, nil
		}
	}
	return false, InputErrorf(r.source, joinLoc(loc, ExtRetryable), "must be true or false, not %v", v)
}

func joinLoc(loc, key string) string {
	if loc == "" {
		return key
	}
	return loc + "." + key
}

// statusClasses reads the response codes whose failure classification the document sets with
// x-linkerd-failure.
func (r *reader) statusClasses(loc string, codes []string, ext func(code string) map[string]any) ([]StatusClass, error) {
	var out []StatusClass
	for _, code := range codes {
		v, ok := ext(code)[ExtFailure]
		if !ok {
			continue
		}
		failure, isBool := v.(bool)
		if !isBool {
			return nil, InputErrorf(r.source, joinLoc(loc, "responses."+code+"."+ExtFailure), "must be true or false, not %v", v)
		}
		lo, hi, ok := statusRange(code)
		if !ok {
			r.warnf("%s: %s on response %q ignored: only status codes and ranges such as 5XX can be classified", loc, ExtFailure, code)
			continue
		}
		out = append(out, StatusClass{Min: lo, Max: hi, IsFailure: failure})
	}
	return out, nil
}

// statusRange parses "503" or "5XX" into an inclusive range.
func statusRange(code string) (uint32, uint32, bool) {
	if len(code) != 3 {
		return 0, 0, false
	}
	if strings.EqualFold(code[1:], "XX") && code[0] >= '1' && code[0] <= '5' {
		lo := uint32(code[0]-'0') * 100
		return lo, lo + 99, true
	}
	n, err := strconv.ParseUint(code, 10, 32)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, false
	}
	return uint32(n), uint32(n), true
}

// addOperation records one operation.
func (r *reader) addOperation(base, path, method, loc string, pol policy, classes []StatusClass, typer ParamTyper) {
	full := joinPath(base, path)
	r.ops = append(r.ops, Operation{
		Method:          method,
		Path:            full,
		Location:        loc,
		Segments:        ParseTemplate(full, typer, func(msg string) { r.warnf("%s: %s", loc, msg) }),
		Retryable:       pol.retryable,
		Timeout:         pol.timeout,
		ResponseClasses: classes,
	})
}

func (r *reader) api() *API {
	return &API{Source: r.source, Operations: r.ops}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// orderedMethods lists the methods of ops in methodOrder, then any others alphabetically.
func orderedMethods[V any](ops map[string]V) []string {
	out := make([]string, 0, len(ops))
	seen := map[string]bool{}
	for _, m := range methodOrder {
		if _, ok := ops[m]; ok {
			out = append(out, m)
			seen[m] = true
		}
	}
	for _, m := range sortedKeys(ops) {
		if !seen[m] {
			out = append(out, m)
		}
	}
	return out
}

// openapi3 walks an OpenAPI 3.x document loaded and $ref-resolved by kin-openapi.
func (r *reader) openapi3(ctx context.Context, data []byte, opts OpenAPIOptions) (*API, error) {
	doc, err := r.load3(ctx, data, opts)
	if err != nil {
		return nil, err
	}
	root, err := r.inherit(policy{}, doc.Extensions, "")
	if err != nil {
		return nil, err
	}
	rootBase, err := r.serverBase(doc.Servers, "servers")
	if err != nil {
		return nil, err
	}
	if doc.Paths == nil || doc.Paths.Len() == 0 {
		r.warnf("the document has no paths")
	}
	var paths map[string]*openapi3.PathItem
	if doc.Paths != nil {
		paths = doc.Paths.Map()
	}
	for _, path := range sortedKeys(paths) {
		if err := r.pathItem3(root, rootBase, path, paths[path]); err != nil {
			return nil, err
		}
	}
	return r.api(), nil
}

// load3 loads and resolves an OpenAPI 3 document. It fails on what kin-openapi cannot load
// (pointing at a bad $ref when it can); a document that loads but does not validate is only
// warned about, since what it says about paths is usually still usable.
func (r *reader) load3(ctx context.Context, data []byte, opts OpenAPIOptions) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = opts.AllowExternalRefs
	loader.ReadFromURIFunc = refReader(ctx, r.source, opts.RefOrigins)
	doc, err := loader.LoadFromDataWithPath(data, sourceURL(r.source))
	if err != nil {
		if loc, ref, ok := findBadLocalRef(data); ok {
			return nil, InputErrorf(r.source, loc, "cannot resolve $ref %q: nothing at that location in the document", ref)
		}
		return nil, InputErrorf(r.source, jsonSyntaxLocation(data, err), "invalid OpenAPI document: %s", kinError(err))
	}
	if err := doc.Validate(ctx, openapi3.DisableExamplesValidation(), openapi3.AllowExtensionsWithRef(),
		openapi3.DisableSchemaDefaultsValidation(), openapi3.DisableSchemaPatternValidation(),
		// OpenAPI 3.1 components.pathItems, which kin-openapi resolves but does not validate.
		openapi3.AllowExtraSiblingFields("pathItems")); err != nil {
		r.warnf("the document does not validate (%s); generating from what it says", oneLine(err.Error()))
	}
	return doc, nil
}

// pathItem3 adds the operations of one path, with the policy and servers it inherits.
func (r *reader) pathItem3(root policy, rootBase, path string, item *openapi3.PathItem) error {
	loc := "paths." + path
	if item == nil {
		r.warnf("%s: empty path item ignored", loc)
		return nil
	}
	itemPol, err := r.inherit(root, item.Extensions, loc)
	if err != nil {
		return err
	}
	itemBase := rootBase
	if len(item.Servers) > 0 {
		if itemBase, err = r.serverBase(item.Servers, joinLoc(loc, "servers")); err != nil {
			return err
		}
	}
	ops := item.Operations()
	for _, method := range orderedMethods(ops) {
		op := ops[method]
		opLoc := joinLoc(loc, strings.ToLower(method))
		pol, err := r.inherit(itemPol, op.Extensions, opLoc)
		if err != nil {
			return err
		}
		base := itemBase
		if op.Servers != nil && len(*op.Servers) > 0 {
			if base, err = r.serverBase(*op.Servers, joinLoc(opLoc, "servers")); err != nil {
				return err
			}
		}
		var codes []string
		var resp map[string]*openapi3.ResponseRef
		if op.Responses != nil {
			resp = op.Responses.Map()
			codes = sortedKeys(resp)
		}
		classes, err := r.statusClasses(opLoc, codes, func(code string) map[string]any {
			if ref := resp[code]; ref != nil && ref.Value != nil {
				return ref.Value.Extensions
			}
			return nil
		})
		if err != nil {
			return err
		}
		r.addOperation(base, path, method, opLoc, pol, classes, pathParamTyper3(item.Parameters, op.Parameters))
	}
	return nil
}

// pathParamTyper3 types the path parameters of an operation from their schemas; the
// operation's own parameters override the path item's of the same name.
func pathParamTyper3(lists ...openapi3.Parameters) ParamTyper {
	params := map[string]*openapi3.Parameter{}
	for _, list := range lists {
		for _, ref := range list {
			if ref != nil && ref.Value != nil && ref.Value.In == openapi3.ParameterInPath {
				params[ref.Value.Name] = ref.Value
			}
		}
	}
	return func(name string) (Part, bool) {
		p := params[name]
		if p == nil {
			return Part{}, false
		}
		s := ParamSchema{Style: p.Style}
		if p.Schema != nil && p.Schema.Value != nil {
			v := p.Schema.Value
			s.Format, s.Enum, s.Pattern, s.Minimum = v.Format, v.Enum, v.Pattern, v.Min
			if v.Type != nil {
				s.Types = v.Type.Slice()
			}
			if v.Const != nil && len(s.Enum) == 0 {
				s.Enum = []any{v.Const}
			}
		}
		return TypeParam(s), true
	}
}

// serverBase is the path of the first server URL with its variables at their defaults.
func (r *reader) serverBase(servers openapi3.Servers, loc string) (string, error) {
	if len(servers) == 0 || servers[0] == nil {
		return "", nil
	}
	s := servers[0]
	raw := s.URL
	for name, v := range s.Variables {
		if v == nil {
			continue
		}
		raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
	}
	if strings.ContainsAny(raw, "{}") {
		r.warnf("%s[0]: server URL %q has variables without defaults; they are dropped from the base path", loc, s.URL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		// A URL template that is still not a URL: take what looks like its path.
		if i := strings.Index(raw, "://"); i >= 0 {
			raw = raw[i+3:]
			if j := strings.IndexByte(raw, '/'); j >= 0 {
				return cleanBase(raw[j:]), nil
			}
			return "", nil
		}
		return cleanBase(raw), nil
	}
	if u.Scheme == "" && u.Host == "" && !strings.HasPrefix(u.Path, "/") {
		return cleanBase("/" + u.Path), nil
	}
	return cleanBase(u.Path), nil
}

// cleanBase drops a trailing slash and any unresolved template variable segments.
func cleanBase(p string) string {
	var keep []string
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || strings.ContainsAny(seg, "{}") {
			continue
		}
		keep = append(keep, seg)
	}
	if len(keep) == 0 {
		return ""
	}
	return "/" + strings.Join(keep, "/")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// kinFieldError matches encoding/json's type errors as kin-openapi reports them.
var kinFieldError = regexp.MustCompile(`cannot unmarshal (\w+) into field (\w+)\.(\S+) of type (\S+)`)

// kinError shortens kin-openapi's load errors: it reports a decoding failure twice (as JSON
// and as YAML) with Go type names.
func kinError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "json error: "); i >= 0 {
		msg = msg[i+len("json error: "):]
		if j := strings.Index(msg, ", yaml error:"); j >= 0 {
			msg = msg[:j]
		}
	}
	if m := kinFieldError.FindStringSubmatch(msg); m != nil {
		owner := article(m[2]) + " object"
		if m[2] == "T" {
			owner = "the document"
		}
		return fmt.Sprintf("%s of %s must not be %s", m[3], owner, article(m[1]))
	}
	return strings.TrimPrefix(msg, "json: ")
}

func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOUaeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
