package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Swagger 2.0 is decoded here in one pass over only what routing needs (paths, path
// parameters, x-linkerd-* extensions), into structs that name just those fields so that the
// rest (definitions, descriptions, schemas) is skipped without being copied. kin-openapi's
// openapi2 types decode every nesting level twice to collect extensions, which on the
// Kubernetes API's 3.8 MB document costs more time and memory than Linkerd's own generator
// spends in all. OpenAPI 3.x goes through kin-openapi's loader ($ref resolution, 3.1 schemas,
// validation).

// v2Ext holds the extensions trafficctl reads at document, path-item and operation level.
type v2Ext struct {
	Retryable json.RawMessage `json:"x-linkerd-retryable"`
	Timeout   json.RawMessage `json:"x-linkerd-timeout"`
}

type v2Doc struct {
	BasePath   json.RawMessage            `json:"basePath"`
	Paths      map[string]json.RawMessage `json:"paths"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Responses  map[string]json.RawMessage `json:"responses"`
	v2Ext
}

type v2PathItem struct {
	Ref        json.RawMessage `json:"$ref"`
	Parameters json.RawMessage `json:"parameters"`
	Get        json.RawMessage `json:"get"`
	Head       json.RawMessage `json:"head"`
	Post       json.RawMessage `json:"post"`
	Put        json.RawMessage `json:"put"`
	Patch      json.RawMessage `json:"patch"`
	Delete     json.RawMessage `json:"delete"`
	Options    json.RawMessage `json:"options"`
	Trace      json.RawMessage `json:"trace"`
	v2Ext
}

// operations lists the item's operations by method, in methodOrder.
func (p *v2PathItem) operations() [][2]any {
	var out [][2]any
	for _, m := range []struct {
		method string
		raw    json.RawMessage
	}{{"GET", p.Get}, {"HEAD", p.Head}, {"POST", p.Post}, {"PUT", p.Put}, {"PATCH", p.Patch}, {"DELETE", p.Delete}, {"OPTIONS", p.Options}, {"TRACE", p.Trace}} {
		if m.raw != nil {
			out = append(out, [2]any{m.method, m.raw})
		}
	}
	return out
}

type v2Operation struct {
	Parameters json.RawMessage            `json:"parameters"`
	Responses  map[string]json.RawMessage `json:"responses"`
	v2Ext
}

type v2Response struct {
	Ref     string          `json:"$ref"`
	Failure json.RawMessage `json:"x-linkerd-failure"`
}

// v2Param is a Swagger 2.0 parameter: its schema keywords sit on the parameter itself.
type v2Param struct {
	Ref     string          `json:"$ref"`
	Name    string          `json:"name"`
	In      string          `json:"in"`
	Type    json.RawMessage `json:"type"`
	Format  string          `json:"format"`
	Pattern string          `json:"pattern"`
	Enum    []any           `json:"enum"`
	Minimum *float64        `json:"minimum"`
}

func (p *v2Param) schema() ParamSchema {
	s := ParamSchema{Format: p.Format, Pattern: p.Pattern, Enum: p.Enum, Minimum: p.Minimum}
	var one string
	var many []string
	if json.Unmarshal(p.Type, &one) == nil && one != "" {
		s.Types = []string{one}
	} else if json.Unmarshal(p.Type, &many) == nil {
		s.Types = many
	}
	return s
}

// decode unmarshals one part of the document, reporting errors at loc (or at the member
// whose type is wrong).
func (r *reader) decode(raw json.RawMessage, v any, loc, what string) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return InputErrorf(r.source, joinLoc(loc, te.Field), "must be %s, not %s", jsonKind(te.Type), te.Value)
	}
	return InputErrorf(r.source, locOrRoot(loc), "must be %s: %v", what, shortJSONError(err))
}

// jsonKind names the JSON kind a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64, reflect.Uint32:
		return "a number"
	}
	return "a " + t.String()
}

func locOrRoot(loc string) string {
	if loc == "" {
		return "top level"
	}
	return loc
}

// shortJSONError drops the Go type names encoding/json puts in its messages.
func shortJSONError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "cannot unmarshal "); i >= 0 {
		msg = msg[i:]
		if j := strings.Index(msg, " into Go"); j >= 0 {
			msg = msg[:j]
		}
	}
	return msg
}

// extensions decodes the x-linkerd-* values of one level.
func (r *reader) extensions(e v2Ext, loc string) (map[string]any, error) {
	ext := map[string]any{}
	for k, raw := range map[string]json.RawMessage{ExtRetryable: e.Retryable, ExtTimeout: e.Timeout} {
		if raw == nil {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, InputErrorf(r.source, joinLoc(loc, k), "%v", shortJSONError(err))
		}
		ext[k] = v
	}
	return ext, nil
}

// swagger2 walks a Swagger 2.0 document.
func (r *reader) swagger2(data []byte) (*API, error) {
	var doc v2Doc
	if err := r.decode(data, &doc, "", "a Swagger 2.0 object with paths"); err != nil {
		return nil, err
	}
	ext, err := r.extensions(doc.v2Ext, "")
	if err != nil {
		return nil, err
	}
	rootPol, err := r.inherit(policy{}, ext, "")
	if err != nil {
		return nil, err
	}
	var basePath string
	if doc.BasePath != nil {
		if err := json.Unmarshal(doc.BasePath, &basePath); err != nil {
			return nil, InputErrorf(r.source, "basePath", "must be a string such as \"/v1\"")
		}
	}
	r2 := &swagger2Reader{reader: r, params: doc.Parameters, responses: doc.Responses, resolved: map[string]*v2Param{}}
	if len(doc.Paths) == 0 {
		r.warnf("the document has no paths")
	}
	for _, path := range sortedKeys(doc.Paths) {
		if strings.HasPrefix(path, "x-") {
			continue // an extension of the paths object, not a path
		}
		if err := r2.pathItem(basePath, path, doc.Paths[path], rootPol); err != nil {
			return nil, err
		}
	}
	return r.api(), nil
}

type swagger2Reader struct {
	*reader
	params, responses map[string]json.RawMessage
	resolved          map[string]*v2Param
}

func (r *swagger2Reader) pathItem(basePath, path string, raw json.RawMessage, parent policy) error {
	loc := "paths." + path
	if string(raw) == "null" {
		r.warnf("%s: empty path item ignored", loc)
		return nil
	}
	var item v2PathItem
	if err := r.decode(raw, &item, loc, "a path item object"); err != nil {
		return err
	}
	if item.Ref != nil {
		return InputErrorf(r.source, joinLoc(loc, "$ref"), "cannot resolve path item $ref %s: write Swagger 2.0 path items inline (or convert the document to OpenAPI 3)", item.Ref)
	}
	ext, err := r.extensions(item.v2Ext, loc)
	if err != nil {
		return err
	}
	itemPol, err := r.inherit(parent, ext, loc)
	if err != nil {
		return err
	}
	itemParams, err := r.pathParams(item.Parameters, joinLoc(loc, "parameters"))
	if err != nil {
		return err
	}
	for _, mo := range item.operations() {
		method, rawOp := mo[0].(string), mo[1].(json.RawMessage)
		opLoc := joinLoc(loc, strings.ToLower(method))
		if method == "TRACE" {
			r.warnf("%s: Swagger 2.0 has no TRACE operations; routing it anyway", opLoc)
		}
		var op v2Operation
		if err := r.decode(rawOp, &op, opLoc, "an operation object"); err != nil {
			return err
		}
		ext, err := r.extensions(op.v2Ext, opLoc)
		if err != nil {
			return err
		}
		pol, err := r.inherit(itemPol, ext, opLoc)
		if err != nil {
			return err
		}
		opParams, err := r.pathParams(op.Parameters, joinLoc(opLoc, "parameters"))
		if err != nil {
			return err
		}
		params := map[string]*v2Param{}
		for _, list := range [][]*v2Param{itemParams, opParams} {
			for _, p := range list {
				params[p.Name] = p
			}
		}
		classes, err := r.responseClasses(op.Responses, opLoc)
		if err != nil {
			return err
		}
		r.addOperation(basePath, path, method, opLoc, pol, classes, func(name string) (Part, bool) {
			p := params[name]
			if p == nil {
				return Part{}, false
			}
			return TypeParam(p.schema()), true
		})
	}
	return nil
}

// pathParams decodes a parameter list and keeps the path parameters, resolving local
// #/parameters/ references.
func (r *swagger2Reader) pathParams(raw json.RawMessage, loc string) ([]*v2Param, error) {
	if raw == nil {
		return nil, nil
	}
	var list []json.RawMessage
	if err := r.decode(raw, &list, loc, "a list of parameters"); err != nil {
		return nil, err
	}
	var out []*v2Param
	for i, item := range list {
		ploc := fmt.Sprintf("%s[%d]", loc, i)
		p := new(v2Param)
		if err := r.decode(item, p, ploc, "a parameter object"); err != nil {
			return nil, err
		}
		if p.Ref != "" {
			resolved, err := r.sharedParam(p.Ref, joinLoc(ploc, "$ref"))
			if err != nil {
				return nil, err
			}
			p = resolved
		}
		if p.In == "path" {
			out = append(out, p)
		}
	}
	return out, nil
}

func (r *swagger2Reader) sharedParam(ref, loc string) (*v2Param, error) {
	if p, ok := r.resolved[ref]; ok {
		return p, nil
	}
	name, ok := strings.CutPrefix(ref, "#/parameters/")
	raw, found := r.params[name]
	if !ok || !found {
		return nil, InputErrorf(r.source, loc, "cannot resolve $ref %q: no such parameter under #/parameters", ref)
	}
	p := new(v2Param)
	if err := json.Unmarshal(raw, p); err != nil || p.Ref != "" {
		return nil, InputErrorf(r.source, "parameters."+name, "invalid parameter (it must be written inline, not as another $ref)")
	}
	r.resolved[ref] = p
	return p, nil
}

// responseClasses reads x-linkerd-failure from the responses of an operation.
func (r *swagger2Reader) responseClasses(resp map[string]json.RawMessage, opLoc string) ([]StatusClass, error) {
	loc := joinLoc(opLoc, "responses")
	exts := map[string]map[string]any{}
	for code, raw := range resp {
		if strings.HasPrefix(code, "x-") {
			continue
		}
		rloc := joinLoc(loc, code)
		var res v2Response
		if err := r.decode(raw, &res, rloc, "a response object"); err != nil {
			return nil, err
		}
		if res.Ref != "" {
			name, ok := strings.CutPrefix(res.Ref, "#/responses/")
			shared, found := r.responses[name]
			if !ok || !found {
				return nil, InputErrorf(r.source, joinLoc(rloc, "$ref"), "cannot resolve $ref %q: no such response under #/responses", res.Ref)
			}
			if err := r.decode(shared, &res, "responses."+name, "a response object"); err != nil {
				return nil, err
			}
		}
		exts[code] = nil
		if res.Failure != nil {
			var v any
			if err := json.Unmarshal(res.Failure, &v); err != nil {
				return nil, InputErrorf(r.source, joinLoc(rloc, ExtFailure), "%v", shortJSONError(err))
			}
			exts[code] = map[string]any{ExtFailure: v}
		}
	}
	return r.statusClasses(opLoc, sortedKeys(exts), func(code string) map[string]any { return exts[code] })
}
