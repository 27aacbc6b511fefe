package ociimage

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Registry is the repository prefix of the images the project builds.
const Registry = "ghcr.io/trafficctl"

// TrafficctlImage is the trafficctl image (canary controller, load-job attacker) for a tag.
func TrafficctlImage(tag string) string { return Registry + "/trafficctl:" + tag }

// DemoImage is the image of one demo app component: emoji-svc, voting-svc or web.
func DemoImage(component, tag string) string {
	return Registry + "/emojivoto-" + component + ":" + tag
}

// WebV2Tag is the tag of the second web version (built with webVersion=v2).
func WebV2Tag(tag string) string { return tag + "-v2" }

// Built is one image tarball written by BuildSet.
type Built struct {
	Name string
	Path string
}

// SetOptions says what BuildSet builds.
type SetOptions struct {
	// Root is the repository root (where go.mod is).
	Root string
	// Out is the directory the tarballs are written to.
	Out string
	// Version tags the images and is linked into the binaries; Revision is the git commit.
	Version, Revision string
	// Only, when not empty, limits the set to images whose name contains one of these strings.
	Only []string
	// Log gets progress lines.
	Log io.Writer
}

type binary struct {
	pkg, out, ldflags string
}

type imageDef struct {
	name       string
	bin        binary
	entrypoint []string
	cmd        []string
}

// BuildSet builds the static binaries (CGO_ENABLED=0) and writes one OCI tarball per image:
// trafficctl (canary controller and load-job attacker) and the demo app's emoji-svc,
// voting-svc and web (v1 and v2).
func BuildSet(ctx context.Context, o SetOptions) ([]Built, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Out, err)
	}
	binDir, err := os.MkdirTemp(o.Out, ".bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	vpkg := "github.com/trafficctl/trafficctl/internal/version"
	tctl := binary{"./cmd/trafficctl", "trafficctl", fmt.Sprintf("-s -w -X %s.Version=%s -X %s.GitCommit=%s", vpkg, o.Version, vpkg, o.Revision)}
	demo := binary{"./cmd/demoapp", "demoapp", "-s -w"}
	demoV2 := binary{"./cmd/demoapp", "demoapp-v2", "-s -w -X main.webVersion=v2"}
	defs := []imageDef{
		{TrafficctlImage(o.Version), tctl, []string{"/usr/local/bin/trafficctl"}, nil},
		{DemoImage("emoji-svc", o.Version), demo, []string{"/usr/local/bin/demoapp"}, []string{"emoji"}},
		{DemoImage("voting-svc", o.Version), demo, []string{"/usr/local/bin/demoapp"}, []string{"voting"}},
		{DemoImage("web", o.Version), demo, []string{"/usr/local/bin/demoapp"}, []string{"web"}},
		{DemoImage("web", WebV2Tag(o.Version)), demoV2, []string{"/usr/local/bin/demoapp"}, []string{"web"}},
	}
	var out []Built
	builtBins := map[string]string{}
	for _, d := range defs {
		if !selected(d.name, o.Only) {
			continue
		}
		bin, ok := builtBins[d.bin.out]
		if !ok {
			bin = filepath.Join(binDir, d.bin.out)
			if err := GoBuildStatic(ctx, o.Root, d.bin.pkg, bin, d.bin.ldflags, o.Log); err != nil {
				return nil, err
			}
			builtBins[d.bin.out] = bin
		}
		img, err := Build(Spec{
			Name:       d.name,
			Files:      []File{{Src: bin, Path: d.entrypoint[0], Mode: 0o555}},
			Entrypoint: d.entrypoint,
			Cmd:        d.cmd,
			Version:    o.Version,
			Revision:   o.Revision,
		})
		if err != nil {
			return nil, err
		}
		path := filepath.Join(o.Out, FileName(d.name))
		if err := WriteTarball(path, d.name, img); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Log, "image %s -> %s\n", d.name, path)
		out = append(out, Built{Name: d.name, Path: path})
	}
	return out, nil
}

func selected(name string, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, s := range only {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// FileName is the tarball name for an image reference: ghcr.io/trafficctl/trafficctl:v1 ->
// trafficctl_v1.oci.tar.
func FileName(ref string) string {
	base := ref[strings.LastIndex(ref, "/")+1:]
	return strings.ReplaceAll(base, ":", "_") + ".oci.tar"
}

// GoBuildStatic builds pkg (relative to root) into out as a static binary.
func GoBuildStatic(ctx context.Context, root, pkg, out, ldflags string, log io.Writer) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build %s: go toolchain not found: %w", pkg, err)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = log, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	fmt.Fprintf(log, "built %s in %s\n", pkg, time.Since(start).Round(time.Millisecond))
	return nil
}
