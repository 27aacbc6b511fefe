package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/trafficctl/trafficctl/pkg/internal/protosrc"
)

// ErrBadProto is wrapped by errors about .proto files that cannot be read or compiled.
var ErrBadProto = errors.New("bad proto")

// maxProtoSize bounds one .proto file: sources are small, and a device or a huge file given
// by mistake must not hang the compile.
const maxProtoSize = 16 << 20

// Protos are compiled .proto files: where gRPC targets find their methods' types when the
// server has no reflection service. Without Protos, a TargetSet asks each server by
// reflection.
type Protos struct {
	sources []string
	files   []protoreflect.FileDescriptor
}

// CompileProtos compiles .proto files as protoc does: imports are found in importPaths (-I),
// or in each file's directory when there are none, and google/protobuf/* are built in. Errors
// wrap ErrBadProto and name the file, and the line and column of a syntax or type error.
func CompileProtos(ctx context.Context, files, importPaths []string) (*Protos, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no .proto file given", ErrBadProto)
	}
	for _, f := range files {
		if err := regularFile(f); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadProto, err)
		}
	}
	for _, dir := range importPaths {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: import path %s is not a directory", ErrBadProto, dir)
		}
	}
	compiled, err := protosrc.Compile(ctx, files, importPaths, openProto)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w: add the directory of the file or of its imports with -I", ErrBadProto, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrBadProto, err)
	}
	return &Protos{sources: files, files: compiled}, nil
}

func regularFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

func openProto(path string) (io.ReadCloser, error) {
	if err := regularFile(path); err != nil {
		return nil, err
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(fh, maxProtoSize), fh}, nil
}

// Method finds the unary method fullMethod (/package.Service/Method) in the files or their
// imports. When it is missing, the error names it and lists the services found with their
// methods.
func (p *Protos) Method(fullMethod string) (protoreflect.MethodDescriptor, error) {
	svc, meth, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	var found []string
	seen := map[string]bool{}
	var walk func(fd protoreflect.FileDescriptor) protoreflect.MethodDescriptor
	walk = func(fd protoreflect.FileDescriptor) protoreflect.MethodDescriptor {
		if seen[fd.Path()] {
			return nil
		}
		seen[fd.Path()] = true
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			if string(sd.FullName()) == svc {
				if md := sd.Methods().ByName(protoreflect.Name(meth)); md != nil {
					return md
				}
			}
			var ms []string
			for j := range sd.Methods().Len() {
				ms = append(ms, string(sd.Methods().Get(j).Name()))
			}
			found = append(found, fmt.Sprintf("%s (%s)", sd.FullName(), strings.Join(ms, ", ")))
		}
		for i := range fd.Imports().Len() {
			if md := walk(fd.Imports().Get(i).FileDescriptor); md != nil {
				return md
			}
		}
		return nil
	}
	for _, fd := range p.files {
		if md := walk(fd); md != nil {
			return md, nil
		}
	}
	services := "none (the files define no service)"
	if len(found) > 0 {
		slices.Sort(found)
		services = strings.Join(found, "; ")
	}
	return nil, fmt.Errorf("method %s is not in %s: services found: %s", fullMethod, strings.Join(p.sources, ", "), services)
}
