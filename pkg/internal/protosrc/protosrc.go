// Package protosrc compiles .proto source files the way protoc does, for every command that
// reads them: `profile --proto` (routes from services) and `load --proto` (gRPC targets of a
// server without reflection). Keeping one compiler setup means both resolve imports alike.
package protosrc

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Open reads one source file; Compile uses os.Open when none is given.
type Open func(path string) (io.ReadCloser, error)

// Compile compiles files. Imports are found in importPaths (protoc's -I) or, when there are
// none, in each file's own directory; google/protobuf/* are built in. On a syntax or type
// error the error returned is the first one reported, a reporter.ErrorWithPos naming the file,
// line and column; a missing file or import comes back wrapping os.ErrNotExist.
func Compile(ctx context.Context, files, importPaths []string, open Open) ([]protoreflect.FileDescriptor, error) {
	if open == nil {
		open = func(path string) (io.ReadCloser, error) { return os.Open(path) }
	}
	paths := importPaths
	names := make([]string, len(files))
	for i, f := range files {
		if len(importPaths) > 0 {
			names[i] = RelativeTo(f, importPaths)
			continue
		}
		if dir := filepath.Dir(f); !slices.Contains(paths, dir) {
			paths = append(paths, dir)
		}
		names[i] = filepath.Base(f)
	}
	var first error
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: paths, Accessor: open}),
		// One file at a time: these commands' cores are for generating or for load.
		MaxParallelism: 1,
		Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
			if first == nil {
				first = err
			}
			return err
		}, nil),
	}
	compiled, err := c.Compile(ctx, names...)
	if err != nil {
		if first != nil {
			return nil, first
		}
		return nil, err
	}
	out := make([]protoreflect.FileDescriptor, 0, len(compiled))
	for _, fd := range compiled {
		out = append(out, fd)
	}
	return out, nil
}

// RelativeTo names file relative to the import path holding it, as protoc does with -I; a
// file outside every import path keeps its name.
func RelativeTo(file string, importPaths []string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return filepath.ToSlash(file)
	}
	for _, ip := range importPaths {
		dir, err := filepath.Abs(ip)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(dir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(file)
}
