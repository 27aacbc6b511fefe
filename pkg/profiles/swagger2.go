package profiles

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Swagger 2.0 is decoded here in one pass over only what routing needs (paths, path
// parameters, response extensions, x-linkerd-*), rather than through kin-openapi's openapi2
// types: those decode every nesting level twice to collect extensions, which on the Kubernetes
// API's 3.8 MB document cost more time and memory than Linkerd's own generator spends in all.
// OpenAPI 3.x goes through kin-openapi's loader ($ref resolution, 3.1 schemas, validation).

// object is one JSON object with its members left undecoded.
type object map[string]json.RawMessage

func (r *reader) object(raw json.RawMessage, loc string) (object, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, inputErrorf(r.source, locOrRoot(loc), "must be an object: %v", shortJSONError(err))
	}
	return o, nil
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

// extensions decodes the x- members of an object.
func (r *reader) extensions(o object, loc string) (map[string]any, error) {
	var ext map[string]any
	for k, raw := range o {
		if !strings.HasPrefix(k, "x-") {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, inputErrorf(r.source, joinLoc(loc, k), "%v", shortJSONError(err))
		}
		if ext == nil {
			ext = map[string]any{}
		}
		ext[k] = v
	}
	return ext, nil
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

// swagger2 walks a Swagger 2.0 document.
func (r *reader) swagger2(data []byte) (*API, error) {
	root, err := r.object(data, "")
	if err != nil {
		return nil, err
	}
	ext, err := r.extensions(root, "")
	if err != nil {
		return nil, err
	}
	rootPol, err := r.inherit(policy{}, ext, "")
	if err != nil {
		return nil, err
	}
	var basePath string
	if raw, ok := root["basePath"]; ok {
		if err := json.Unmarshal(raw, &basePath); err != nil {
			return nil, inputErrorf(r.source, "basePath", "must be a string such as \"/v1\"")
		}
	}
	sharedParams, sharedResponses := object{}, object{}
	if raw, ok := root["parameters"]; ok {
		if sharedParams, err = r.object(raw, "parameters"); err != nil {
			return nil, err
		}
	}
	if raw, ok := root["responses"]; ok {
		if sharedResponses, err = r.object(raw, "responses"); err != nil {
			return nil, err
		}
	}
	r2 := &swagger2Reader{reader: r, params: sharedParams, responses: sharedResponses, resolved: map[string]*v2Param{}}
	rawPaths, ok := root["paths"]
	if !ok {
		r.warnf("the document has no paths")
		return r.api(), nil
	}
	paths, err := r.object(rawPaths, "paths")
	if err != nil {
		return nil, err
	}
	for _, path := range sortedKeys(paths) {
		if strings.HasPrefix(path, "x-") {
			continue // an extension of the paths object, not a path
		}
		if err := r2.pathItem(basePath, path, paths[path], rootPol); err != nil {
			return nil, err
		}
	}
	return r.api(), nil
}

type swagger2Reader struct {
	*reader
	params, responses object
	resolved          map[string]*v2Param
}

func (r *swagger2Reader) pathItem(basePath, path string, raw json.RawMessage, parent policy) error {
	loc := "paths." + path
	if string(raw) == "null" {
		r.warnf("%s: empty path item ignored", loc)
		return nil
	}
	item, err := r.object(raw, loc)
	if err != nil {
		return err
	}
	if ref, ok := item["$ref"]; ok {
		return inputErrorf(r.source, joinLoc(loc, "$ref"), "cannot resolve path item $ref %s: write Swagger 2.0 path items inline (or convert the document to OpenAPI 3)", ref)
	}
	ext, err := r.extensions(item, loc)
	if err != nil {
		return err
	}
	itemPol, err := r.inherit(parent, ext, loc)
	if err != nil {
		return err
	}
	itemParams, err := r.pathParams(item["parameters"], joinLoc(loc, "parameters"))
	if err != nil {
		return err
	}
	ops := map[string]json.RawMessage{}
	for _, m := range methodOrder {
		if raw, ok := item[strings.ToLower(m)]; ok {
			ops[m] = raw
		}
	}
	for _, method := range orderedMethods(ops) {
		opLoc := joinLoc(loc, strings.ToLower(method))
		if method == "TRACE" || method == "CONNECT" || method == "QUERY" {
			r.warnf("%s: Swagger 2.0 has no %s operations; routing it anyway", opLoc, method)
		}
		op, err := r.object(ops[method], opLoc)
		if err != nil {
			return err
		}
		ext, err := r.extensions(op, opLoc)
		if err != nil {
			return err
		}
		pol, err := r.inherit(itemPol, ext, opLoc)
		if err != nil {
			return err
		}
		opParams, err := r.pathParams(op["parameters"], joinLoc(opLoc, "parameters"))
		if err != nil {
			return err
		}
		params := map[string]*v2Param{}
		for _, list := range [][]*v2Param{itemParams, opParams} {
			for _, p := range list {
				params[p.Name] = p
			}
		}
		classes, err := r.responseClasses(op["responses"], opLoc)
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
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, inputErrorf(r.source, loc, "must be a list of parameters: %v", shortJSONError(err))
	}
	var out []*v2Param
	for i, item := range list {
		ploc := fmt.Sprintf("%s[%d]", loc, i)
		p := new(v2Param)
		if err := json.Unmarshal(item, p); err != nil {
			return nil, inputErrorf(r.source, ploc, "invalid parameter: %v", shortJSONError(err))
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
		return nil, inputErrorf(r.source, loc, "cannot resolve $ref %q: no such parameter under #/parameters", ref)
	}
	p := new(v2Param)
	if err := json.Unmarshal(raw, p); err != nil || p.Ref != "" {
		return nil, inputErrorf(r.source, "parameters."+name, "invalid parameter (it must be written inline, not as another $ref)")
	}
	r.resolved[ref] = p
	return p, nil
}

// responseClasses reads x-linkerd-failure from the responses of an operation.
func (r *swagger2Reader) responseClasses(raw json.RawMessage, opLoc string) ([]StatusClass, error) {
	if raw == nil {
		return nil, nil
	}
	loc := joinLoc(opLoc, "responses")
	resp, err := r.object(raw, loc)
	if err != nil {
		return nil, err
	}
	exts := map[string]map[string]any{}
	for code, raw := range resp {
		rloc := joinLoc(loc, code)
		if strings.HasPrefix(code, "x-") {
			continue
		}
		o, err := r.object(raw, rloc)
		if err != nil {
			return nil, err
		}
		if refRaw, ok := o["$ref"]; ok {
			var ref string
			_ = json.Unmarshal(refRaw, &ref)
			name, ok := strings.CutPrefix(ref, "#/responses/")
			shared, found := r.responses[name]
			if !ok || !found {
				return nil, inputErrorf(r.source, joinLoc(rloc, "$ref"), "cannot resolve $ref %q: no such response under #/responses", ref)
			}
			if o, err = r.object(shared, "responses."+name); err != nil {
				return nil, err
			}
		}
		if exts[code], err = r.extensions(o, rloc); err != nil {
			return nil, err
		}
	}
	return r.statusClasses(opLoc, sortedKeys(exts), func(code string) map[string]any { return exts[code] })
}
