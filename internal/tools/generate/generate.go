// Package generate produces every committed generated file of the repository: emojivoto's Go
// protobuf code, the Grafana dashboards and emojivoto's ServiceProfiles. `make generate`
// (cmd/generate) writes them; TestCommittedFilesCurrent requires the committed copies to match,
// so CI catches an input edited without regenerating. Generators are plain functions, not tests
// run with -update, so regenerating never depends on which tests happen to pass.
package generate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/internal/cli"
	"github.com/trafficctl/trafficctl/internal/tools/gogen"
	"github.com/trafficctl/trafficctl/pkg/dashboards"
)

// Generator makes a set of files, keyed by path relative to the repository root.
type Generator struct {
	// Name says what is generated, for messages.
	Name string
	// Owns is a directory the generator owns whole: a file in it that the generator does not
	// make is stale. Empty when the generator shares its directory with hand-written files.
	Owns string
	// Files generates the files from the repository at root.
	Files func(ctx context.Context, root string) (map[string][]byte, error)
}

// All are the repository's generators, in the order `make generate` runs them.
var All = []Generator{
	{Name: "emojivoto protobuf Go code", Files: protoFiles},
	{Name: "Grafana dashboards", Owns: dashboardsDir, Files: dashboardFiles},
	{Name: "emojivoto ServiceProfiles", Files: profileFiles},
}

const (
	dashboardsDir = "deploy/linkerd/grafana/dashboards"
	emojivotoDir  = "deploy/emojivoto"
)

func protoFiles(ctx context.Context, root string) (map[string][]byte, error) {
	files, err := gogen.Generate(ctx, filepath.Join(root, gogen.EmojivotoProtoDir), gogen.EmojivotoProtos...)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for name, content := range files {
		out[filepath.Join(gogen.EmojivotoGenDir, name)] = content
	}
	return out, nil
}

func dashboardFiles(context.Context, string) (map[string][]byte, error) {
	all, err := dashboards.All()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for name, d := range all {
		b, err := dashboards.JSON(d)
		if err != nil {
			return nil, err
		}
		out[filepath.Join(dashboardsDir, name)] = b
	}
	return out, nil
}

// profileFiles runs `trafficctl profile` on emojivoto's contracts, as a user would.
func profileFiles(ctx context.Context, root string) (map[string][]byte, error) {
	app := filepath.Join(root, emojivotoDir)
	out := map[string][]byte{}
	for _, p := range []struct {
		service string
		args    []string
	}{
		{"web-svc", []string{"--openapi", app + "/api/web.openapi.yaml"}},
		{"emoji-svc", []string{"--proto", app + "/api/proto/emojivoto/v1/emoji.proto", "-I", app + "/api/proto"}},
		{"voting-svc", []string{"--proto", app + "/api/proto/emojivoto/v1/voting.proto", "-I", app + "/api/proto"}},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"profile", p.service, "-n", "emojivoto"}, p.args...)
		if code := cli.Run(ctx, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr}, args); code != cli.ExitOK {
			return nil, fmt.Errorf("trafficctl %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		out[filepath.Join(emojivotoDir, "profiles", p.service+".yaml")] = stdout.Bytes()
	}
	return out, nil
}

// Write runs every generator and writes its files under root; it returns the paths written.
func Write(ctx context.Context, root string) ([]string, error) {
	var written []string
	for _, g := range All {
		files, err := g.Files(ctx, root)
		if err != nil {
			return written, fmt.Errorf("generate %s: %w", g.Name, err)
		}
		for path, content := range files {
			full := filepath.Join(root, path)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return written, err
			}
			if err := os.WriteFile(full, content, 0o644); err != nil {
				return written, fmt.Errorf("write %s: %w", path, err)
			}
			written = append(written, path)
		}
	}
	return written, nil
}

// Stale runs every generator and returns one line per committed file under root that differs
// from what it generates, is missing, or sits unowned in a generator's own directory.
func Stale(ctx context.Context, root string) ([]string, error) {
	var stale []string
	for _, g := range All {
		files, err := g.Files(ctx, root)
		if err != nil {
			return nil, fmt.Errorf("generate %s: %w", g.Name, err)
		}
		for path, want := range files {
			got, err := os.ReadFile(filepath.Join(root, path))
			switch {
			case err != nil:
				stale = append(stale, fmt.Sprintf("%s: %v", path, err))
			case !bytes.Equal(got, want):
				stale = append(stale, path+": differs from what "+g.Name+" generates")
			}
		}
		if g.Owns == "" {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(root, g.Owns))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if _, ok := files[filepath.Join(g.Owns, e.Name())]; !ok {
				stale = append(stale, filepath.Join(g.Owns, e.Name())+": not generated by "+g.Name+": delete it or add it to the generator")
			}
		}
	}
	return stale, nil
}
