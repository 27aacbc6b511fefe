package protosrc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bufbuild/protocompile/reporter"
)

func TestRelativeTo(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, file string
		paths      []string
		want       string
	}{
		{"inside an import path", filepath.Join(dir, "api", "v1", "a.proto"), []string{filepath.Join(dir, "api")}, "v1/a.proto"},
		{"second import path", filepath.Join(dir, "b", "a.proto"), []string{filepath.Join(dir, "x"), filepath.Join(dir, "b")}, "a.proto"},
		{"outside every import path", filepath.Join(dir, "a.proto"), []string{filepath.Join(dir, "api")}, filepath.ToSlash(filepath.Join(dir, "a.proto"))},
		{"a name starting with dots is inside", filepath.Join(dir, "..a.proto"), []string{dir}, "..a.proto"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := RelativeTo(tt.file, tt.paths); got != tt.want {
				t.Errorf("RelativeTo(%s, %v) = %s, want %s", tt.file, tt.paths, got, tt.want)
			}
		})
	}
}

func TestCompile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	common := write("proto/common/v1/common.proto", `syntax = "proto3"; package common.v1; message Empty {}`)
	svc := write("proto/svc/v1/svc.proto", `syntax = "proto3"; package svc.v1;
import "common/v1/common.proto"; import "google/protobuf/timestamp.proto";
service Clock { rpc Now(common.v1.Empty) returns (google.protobuf.Timestamp); }`)
	broken := write("broken.proto", "syntax = \"proto3\";\nmessage {\n")
	ctx := context.Background()

	t.Run("imports through -I, well-known types built in", func(t *testing.T) {
		fds, err := Compile(ctx, []string{svc}, []string{filepath.Join(dir, "proto")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(fds) != 1 || fds[0].Path() != "svc/v1/svc.proto" || fds[0].Services().Get(0).FullName() != "svc.v1.Clock" {
			t.Fatalf("compiled %v", fds)
		}
	})
	t.Run("without -I a file's own directory serves", func(t *testing.T) {
		if _, err := Compile(ctx, []string{common}, nil, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing import wraps ErrNotExist", func(t *testing.T) {
		_, err := Compile(ctx, []string{svc}, nil, nil)
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want one wrapping os.ErrNotExist", err)
		}
	})
	t.Run("syntax error has a position", func(t *testing.T) {
		_, err := Compile(ctx, []string{broken}, nil, nil)
		var ewp reporter.ErrorWithPos
		if !errors.As(err, &ewp) || ewp.GetPosition().Line != 2 {
			t.Fatalf("err = %v, want a positioned error on line 2", err)
		}
	})
}
