package profiles

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/trafficctl/trafficctl/pkg/internal/limits"
)

// RefTimeout bounds reading one external $ref.
const RefTimeout = FetchTimeout

// errRefRefused is wrapped by the errors of $refs outside what the source may reach.
var errRefRefused = errors.New("$ref refused")

// refReader reads the external $refs of the document at source. A remote document's $refs are
// confined to its own origin (scheme, host and port) and the extra origins given; they never
// read local files. A local document may read local files and URLs. Every read honours ctx,
// is bounded by RefTimeout and limits.File, and redirects stay within the allowed origins.
func refReader(ctx context.Context, source string, extraOrigins []string) openapi3.ReadFromURIFunc {
	base := sourceURL(source)
	remote := base.Scheme == "http" || base.Scheme == "https"
	allowed := map[string]bool{}
	if remote {
		allowed[origin(base)] = true
	}
	for _, o := range extraOrigins {
		if u, err := url.Parse(o); err == nil {
			allowed[origin(u)] = true
		}
	}
	permitted := func(u *url.URL) error {
		if remote && !allowed[origin(u)] {
			return fmt.Errorf("%w: %s is outside the document's origin %s (allow more origins with --allow-ref-origin)", errRefRefused, u.Redacted(), origin(base))
		}
		return nil
	}
	client := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return permitted(req.URL)
	}}
	return openapi3.URIMapCache(func(_ *openapi3.Loader, loc *url.URL) ([]byte, error) {
		if remote && loc.Scheme == "" {
			// A path-only $ref ("/schemas.json") of a remote document is on its server, as in a
			// browser, never a local path.
			loc = base.ResolveReference(loc)
		}
		switch loc.Scheme {
		case "http", "https":
			if err := permitted(loc); err != nil {
				return nil, err
			}
			return fetchRef(ctx, client, loc)
		case "", "file":
			if remote {
				return nil, fmt.Errorf("%w: %s: a remote document's $refs never read local files", errRefRefused, loc.Redacted())
			}
			return limits.ReadFile(path.Clean(filepath.FromSlash(loc.Path)), limits.File)
		}
		return nil, fmt.Errorf("%w: %s: only http, https and (for local documents) file $refs are read", errRefRefused, loc.Redacted())
	})
}

func fetchRef(ctx context.Context, client *http.Client, loc *url.URL) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, RefTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read %s: server answered %s", loc.Redacted(), resp.Status)
	}
	return limits.ReadAll(resp.Body, limits.File, loc.Redacted())
}

// origin is scheme://host[:port] in lower case, with the default port left out.
func origin(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	scheme := strings.ToLower(u.Scheme)
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}
