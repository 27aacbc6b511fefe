// Package ociimage builds OCI image tarballs without a Docker engine, with
// github.com/google/go-containerregistry: one layer holding static binaries, a config that runs
// as a non-root user, the org.opencontainers.image.* labels, and the io.containerd.image.name
// annotation on the index entry so that `ctr -n k8s.io images import FILE` names the image.
// `make images` builds trafficctl's and the demo app's images with it; internal/localk8s loads
// them into a test node's containerd.
package ociimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRoot is the user and group images run as (distroless's "nonroot").
const NonRoot = 65532

// File is one file put into the image's layer.
type File struct {
	// Src is the file on disk; Path its absolute path in the image.
	Src, Path string
	Mode      int64
}

// Spec describes one image.
type Spec struct {
	// Name is the full reference the image gets when imported, e.g.
	// ghcr.io/trafficctl/trafficctl:v0.2.0.
	Name string
	// Files make up the single layer.
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string
	// Version and Revision become org.opencontainers.image.version and .revision.
	Version, Revision string
	// Labels are extra config labels.
	Labels map[string]string
	// Created is the image's creation time; zero keeps builds reproducible (the Unix epoch).
	Created time.Time
}

// Build returns the image described by spec.
func Build(spec Spec) (v1.Image, error) {
	layer, err := layerOf(spec.Files, spec.Created)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("%s: add layer: %w", spec.Name, err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	cf.Created = v1.Time{Time: spec.Created}
	labels := map[string]string{
		"org.opencontainers.image.version":  spec.Version,
		"org.opencontainers.image.revision": spec.Revision,
		"org.opencontainers.image.source":   "https://github.com/trafficctl/trafficctl",
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	user := strconv.Itoa(NonRoot) + ":" + strconv.Itoa(NonRoot)
	cf.Config = v1.Config{
		Entrypoint: spec.Entrypoint,
		Cmd:        spec.Cmd,
		Env:        append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, spec.Env...),
		User:       user,
		WorkingDir: "/",
		Labels:     labels,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("%s: set config: %w", spec.Name, err)
	}
	return img, nil
}

// layerOf makes one uncompressed-tar-backed layer with the files (root-owned, readable by all)
// and the directories above them, plus /tmp (writable) and /etc/passwd naming the non-root user.
func layerOf(files []File, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	addDir := func(dir string, mode int64) error {
		if dir == "/" || dir == "." || dirs[dir] {
			return nil
		}
		dirs[dir] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir[1:] + "/", Mode: mode, ModTime: created})
	}
	var mkdirs func(string) error
	mkdirs = func(dir string) error {
		if dir == "/" || dirs[dir] {
			return nil
		}
		if err := mkdirs(filepath.Dir(dir)); err != nil {
			return err
		}
		return addDir(dir, 0o755)
	}
	if err := mkdirs("/etc"); err != nil {
		return nil, err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRoot, NonRoot)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRoot)
	for name, body := range map[string]string{"/etc/passwd": passwd, "/etc/group": group} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name[1:], Mode: 0o644, Size: int64(len(body)), ModTime: created}); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return nil, err
		}
	}
	if err := addDir("/tmp", 0o1777); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := mkdirs(filepath.Dir(f.Path)); err != nil {
			return nil, err
		}
		src, err := os.Open(f.Src)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.Src, err)
		}
		fi, err := src.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			src.Close()
			return nil, fmt.Errorf("%s: not a regular file: %w", f.Src, err)
		}
		mode := f.Mode
		if mode == 0 {
			mode = int64(fi.Mode().Perm() | 0o444)
		}
		err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Path[1:], Mode: mode, Size: fi.Size(), ModTime: created})
		if err == nil {
			_, err = io.Copy(tw, src)
		}
		src.Close()
		if err != nil {
			return nil, fmt.Errorf("add %s: %w", f.Src, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// AnnotationImageName is the index annotation `ctr images import` names an image by.
const AnnotationImageName = "io.containerd.image.name"

// WriteTarball writes img as an OCI image layout packed in a tar file at path (what
// `ctr images import` and `docker load` take), naming it name.
func WriteTarball(path, name string, img v1.Image) error {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".oci-layout-")
	if err != nil {
		return fmt.Errorf("create layout dir: %w", err)
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	tag := name
	if i := lastColon(name); i >= 0 {
		tag = name[i+1:]
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		AnnotationImageName:                 name,
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return tarDir(dir, path)
}

// lastColon finds the tag separator (a colon after the last slash), -1 when there is none.
func lastColon(ref string) int {
	for i := len(ref) - 1; i >= 0; i-- {
		switch ref[i] {
		case ':':
			return i
		case '/':
			return -1
		}
	}
	return -1
}

func tarDir(dir, path string) error {
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	tw := tar.NewWriter(out)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755})
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: fi.Size()}); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
