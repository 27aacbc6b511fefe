package ociimage

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// An image written by WriteTarball is an OCI layout in a tar, whose index names the image for
// `ctr images import`, and whose config runs the entrypoint as the non-root user with the
// version labels.
func TestWriteTarball(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "hello")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const name = "ghcr.io/trafficctl/hello:v1.2.3"
	img, err := Build(Spec{Name: name, Files: []File{{Src: bin, Path: "/usr/local/bin/hello"}},
		Entrypoint: []string{"/usr/local/bin/hello"}, Version: "v1.2.3", Revision: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, FileName(name))
	if err := WriteTarball(out, name, img); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(out) != "hello_v1.2.3.oci.tar" {
		t.Errorf("file name %s", filepath.Base(out))
	}
	files := readTar(t, out)
	if files["oci-layout"] == nil {
		t.Fatalf("no oci-layout in %v", keys(files))
	}
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Annotations[AnnotationImageName] != name ||
		index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1.2.3" {
		t.Fatalf("index: %s", files["index.json"])
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(NonRoot) + ":" + strconv.Itoa(NonRoot)
	if cf.Config.User != want || cf.Config.Labels["org.opencontainers.image.version"] != "v1.2.3" ||
		cf.Config.Labels["org.opencontainers.image.revision"] != "abc123" || cf.OS != "linux" {
		t.Errorf("config: user %q labels %v os %q", cf.Config.User, cf.Config.Labels, cf.OS)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	seen := map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = h.Mode
	}
	for _, p := range []string{"usr/local/bin/hello", "etc/passwd", "tmp/"} {
		if _, ok := seen[p]; !ok {
			t.Errorf("layer lacks %s: %v", p, seen)
		}
	}
	if seen["usr/local/bin/hello"]&0o111 == 0 {
		t.Errorf("binary mode %o is not executable", seen["usr/local/bin/hello"])
	}
}

func readTar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = b
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
