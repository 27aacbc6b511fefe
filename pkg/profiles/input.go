package profiles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/trafficctl/trafficctl/pkg/internal/limits"
)

// InputError is a problem with the user's input (a missing file, an unreadable URL, a document
// that is not a valid contract). Commands report it as invalid input (exit 2).
type InputError struct {
	// Source is the file, URL or "-" the problem is in.
	Source string
	// Location points inside the document (a JSON path, line:column); may be empty.
	Location string
	// Err is the problem.
	Err error
}

func (e *InputError) Error() string {
	if e.Location == "" {
		return fmt.Sprintf("%s: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.Source, e.Location, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// IsInputError tells whether err is caused by the user's input rather than by the environment.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// InputErrorf is an InputError about source at location (may be empty), for the readers of
// pkg/profiles and of the packages built on it (merge, lint).
func InputErrorf(source, location, format string, args ...any) error {
	return &InputError{Source: source, Location: location, Err: fmt.Errorf(format, args...)}
}

// FetchTimeout bounds reading a contract from a URL.
const FetchTimeout = 30 * time.Second

// ReadSource reads a contract from a file path, an http(s) URL or "-" (stdin).
func ReadSource(ctx context.Context, source string, stdin io.Reader, client *http.Client) ([]byte, error) {
	switch {
	case source == "-":
		if stdin == nil {
			return nil, InputErrorf(source, "", "no standard input")
		}
		data, err := limits.ReadAll(stdin, limits.File, "standard input")
		if err != nil {
			return nil, InputErrorf("stdin", "", "read: %w", err)
		}
		return data, nil
	case strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://"):
		if client == nil {
			client = http.DefaultClient
		}
		ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
		if err != nil {
			return nil, InputErrorf(source, "", "invalid URL: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, InputErrorf(source, "", "cannot read URL: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, InputErrorf(source, "", "cannot read URL: server answered %s", resp.Status)
		}
		data, err := limits.ReadAll(resp.Body, limits.File, source)
		if err != nil {
			return nil, InputErrorf(source, "", "cannot read URL: %w", err)
		}
		return data, nil
	default:
		data, err := limits.ReadFile(source, limits.File)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, InputErrorf(source, "", "no such file")
			}
			return nil, InputErrorf(source, "", "cannot read file: %w", err)
		}
		return data, nil
	}
}

// sourceURL is the location relative $refs are resolved against.
func sourceURL(source string) *url.URL {
	if source == "-" {
		return &url.URL{Path: "stdin"}
	}
	if u, err := url.Parse(source); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return u
	}
	return &url.URL{Path: source}
}

// jsonSyntaxLocation turns a JSON decoding error into "line L, column C" when it has an offset.
func jsonSyntaxLocation(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return ""
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// SplitDocuments splits a YAML stream at its "---" lines into the documents that have content.
func SplitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range documentSeparator.Split(string(data), -1) {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

var documentSeparator = regexp.MustCompile(`(?m)^---\s*$`)
