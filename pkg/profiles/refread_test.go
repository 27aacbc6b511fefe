package profiles

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refDoc is an OpenAPI document whose one response schema is the external $ref.
func refDoc(ref string) string {
	return `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":` +
		strconv.Quote(ref) + `}}}}}}}}}`
}

const schemaDoc = `{"components":{"schemas":{"S":{"type":"string","description":"SECRET-OR-SCHEMA"}}}}`

// TestRemoteRefsConfined: a remote document's $refs stay within its origin (or the extra origins
// allowed), never read local files, honour the context and do not hang on a silent server.
func TestRemoteRefsConfined(t *testing.T) {
	secret := t.TempDir() + "/secret.json"
	if err := os.WriteFile(secret, []byte(schemaDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer silent.Close()
	defer close(hang)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, schemaDoc) }))
	defer other.Close()
	tests := []struct {
		name    string
		ref     string
		origins []string
		want    string // "" means the document loads
	}{
		{name: "same origin", ref: "/schemas.json#/components/schemas/S"},
		{name: "relative", ref: "schemas.json#/components/schemas/S"},
		{name: "local file", ref: "file://" + secret + "#/components/schemas/S", want: "never read local files"},
		{name: "absolute path is on the server, not local", ref: secret + "#/components/schemas/S", want: "server answered 404"},
		{name: "other origin", ref: other.URL + "/s.json#/components/schemas/S", want: "outside the document's origin"},
		{name: "other origin allowed", ref: other.URL + "/s.json#/components/schemas/S", origins: []string{other.URL}},
		{name: "silent server", ref: silent.URL + "/s.json#/components/schemas/S", origins: []string{silent.URL}, want: "context deadline exceeded"},
	}
	docs := map[string]string{}
	for i, tt := range tests {
		docs["/doc"+strconv.Itoa(i)+".json"] = refDoc(tt.ref)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/schemas.json" {
			_, _ = io.WriteString(w, schemaDoc)
			return
		}
		d, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, d)
	}))
	defer srv.Close()

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := "/doc" + strconv.Itoa(i) + ".json"
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			source := srv.URL + p
			data, err := ReadSource(ctx, source, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			api, err := ParseOpenAPI(ctx, source, data, OpenAPIOptions{AllowExternalRefs: true, RefOrigins: tt.origins})
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %s: the context was not honoured", time.Since(start))
			}
			if tt.want == "" {
				if err != nil || api == nil {
					t.Fatalf("load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestLocalDocumentRefsFiles: a local document still reads the files its $refs name.
func TestLocalDocumentRefsFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/schemas.json", []byte(schemaDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := dir + "/api.json"
	if err := os.WriteFile(doc, []byte(refDoc("schemas.json#/components/schemas/S")), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := ReadSource(context.Background(), doc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseOpenAPI(context.Background(), doc, data, OpenAPIOptions{AllowExternalRefs: true}); err != nil {
		t.Fatal(err)
	}
}
