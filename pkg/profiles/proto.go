package profiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/trafficctl/trafficctl/pkg/internal/protosrc"
)

// ProtoOptions tune how protobuf files are read.
type ProtoOptions struct {
	// ImportPaths are the directories imports are resolved in (protoc's -I). When empty, the
	// directory of each file is used.
	ImportPaths []string
	// Accessor opens a file; nil reads the file system.
	Accessor func(path string) (io.ReadCloser, error)
}

// ParseProto reads the services of protobuf files: every RPC becomes a POST route for
// /package.Service/Method, retryable when its idempotency_level is IDEMPOTENT or
// NO_SIDE_EFFECTS. Imports (google/protobuf/* included) are resolved but not routed.
func ParseProto(ctx context.Context, files []string, opts ProtoOptions) (*API, error) {
	if len(files) == 0 {
		return nil, &InputError{Source: "--proto", Err: errors.New("no proto file given")}
	}
	compiled, err := protosrc.Compile(ctx, files, opts.ImportPaths, opts.Accessor)
	if err != nil {
		var ewp reporter.ErrorWithPos
		if errors.As(err, &ewp) {
			pos := ewp.GetPosition()
			return nil, &InputError{Source: pos.Filename, Location: fmt.Sprintf("line %d, column %d", pos.Line, pos.Col), Err: ewp.Unwrap()}
		}
		if errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "file does not exist") {
			return nil, &InputError{Source: strings.Join(files, ","), Err: fmt.Errorf("cannot find a proto file or one of its imports (add its directory with -I): %w", err)}
		}
		return nil, &InputError{Source: strings.Join(files, ","), Err: err}
	}
	api := &API{Source: strings.Join(files, ",")}
	for _, fd := range compiled {
		services := fd.Services()
		for i := 0; i < services.Len(); i++ {
			svc := services.Get(i)
			methods := svc.Methods()
			for j := 0; j < methods.Len(); j++ {
				m := methods.Get(j)
				path := fmt.Sprintf("/%s/%s", svc.FullName(), m.Name())
				op := Operation{
					Method:   "POST",
					Path:     path,
					Location: fmt.Sprintf("%s: %s", fd.Path(), m.FullName()),
					Segments: ParseTemplate(path, func(string) (Part, bool) { return Part{}, false }, func(string) {}),
					GRPC:     true,
				}
				if mo, ok := m.Options().(*descriptorpb.MethodOptions); ok {
					switch mo.GetIdempotencyLevel() {
					case descriptorpb.MethodOptions_IDEMPOTENT, descriptorpb.MethodOptions_NO_SIDE_EFFECTS:
						op.Retryable = ptr(true)
					}
				}
				api.Operations = append(api.Operations, op)
			}
		}
	}
	sort.SliceStable(api.Operations, func(i, j int) bool { return api.Operations[i].Path < api.Operations[j].Path })
	return api, nil
}
