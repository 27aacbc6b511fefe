package load

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// gRPC unary targets are written grpc://HOST:PORT/package.Service/Method with the request
// as JSON in the body. The method's types come from compiled .proto files (Protos, resolved
// when the TargetSet is built) or else from the server's reflection service (in Prepare); the
// request is encoded once, and every hit sends the same bytes through a pass-through codec.

// grpcScheme marks gRPC targets (plaintext HTTP/2, as between meshed pods).
const grpcScheme = "grpc"

// grpcCall is a prepared unary call.
type grpcCall struct {
	addr, method string
	request      []byte
	body         []byte
}

// parseGRPCURL splits grpc://host:port/package.Service/Method.
func parseGRPCURL(raw string) (addr, method string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	if u.Host == "" || u.Port() == "" {
		return "", "", fmt.Errorf("gRPC URL %q needs host:port, e.g. grpc://127.0.0.1:8080/pkg.Service/Method", raw)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" || !strings.Contains(parts[0], ".") {
		return "", "", fmt.Errorf("gRPC URL %q needs /package.Service/Method", raw)
	}
	return u.Host, "/" + parts[0] + "/" + parts[1], nil
}

// rawCodec passes pre-encoded messages through; it names itself "proto" so servers accept it.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = data
	return nil
}
func (rawCodec) Name() string { return "proto" }

// grpcPool holds the client connections of gRPC targets: n per address (HTTP/2 multiplexes
// requests over each), picked round-robin.
type grpcPool struct {
	mu    sync.Mutex
	conns map[string][]*grpc.ClientConn
	next  atomic.Uint64
	n     int
}

func newGRPCPool(n int) *grpcPool {
	return &grpcPool{conns: map[string][]*grpc.ClientConn{}, n: max(n, 1)}
}

func (p *grpcPool) get(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.conns[addr]
	if len(cs) == 0 {
		for range p.n {
			c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, err
			}
			cs = append(cs, c)
		}
		p.conns[addr] = cs
	}
	return cs[p.next.Add(1)%uint64(len(cs))], nil
}

func (p *grpcPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cs := range p.conns {
		for _, c := range cs {
			_ = c.Close()
		}
	}
}

// resolveGRPC encodes the JSON request of call using the server's reflection service.
func resolveGRPC(ctx context.Context, conn *grpc.ClientConn, call *grpcCall) error {
	md, err := reflectMethod(ctx, conn, call)
	if err != nil {
		return err
	}
	return call.encode(md)
}

func reflectMethod(ctx context.Context, conn *grpc.ClientConn, call *grpcCall) (protoreflect.MethodDescriptor, error) {
	svc, meth, _ := strings.Cut(strings.TrimPrefix(call.method, "/"), "/")
	files, err := reflectFiles(ctx, conn, svc)
	if err != nil {
		return nil, fmt.Errorf("server reflection for %s at %s: %w (the server must register the reflection service, or give its .proto files with --proto)", svc, call.addr, err)
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil, fmt.Errorf("service %s not found by reflection at %s", svc, call.addr)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", svc)
	}
	md := sd.Methods().ByName(protoreflect.Name(meth))
	if md == nil {
		return nil, fmt.Errorf("service %s has no method %s", svc, meth)
	}
	return md, nil
}

// encode checks that md is unary and encodes the call's JSON request as its input message.
func (call *grpcCall) encode(md protoreflect.MethodDescriptor) error {
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return fmt.Errorf("method %s streams: only unary methods can be load tested", call.method)
	}
	msg := dynamicpb.NewMessage(md.Input())
	body := call.body
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(body, msg); err != nil {
		return fmt.Errorf("request for %s is not a valid %s in JSON: %w", call.method, md.Input().FullName(), err)
	}
	var err error
	call.request, err = proto.Marshal(msg)
	return err
}

func reflectFiles(ctx context.Context, conn *grpc.ClientConn, symbol string) (*protoregistry.Files, error) {
	stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.CloseSend() }()
	seen := map[string]*descriptorpb.FileDescriptorProto{}
	ask := func(req *rpb.ServerReflectionRequest) error {
		if err := stream.Send(req); err != nil {
			return err
		}
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if e := resp.GetErrorResponse(); e != nil {
			return errors.New(e.GetErrorMessage())
		}
		for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(b, fd); err != nil {
				return err
			}
			seen[fd.GetName()] = fd
		}
		return nil
	}
	if err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: symbol}}); err != nil {
		return nil, err
	}
	for missing := true; missing; {
		missing = false
		for _, fd := range seen {
			for _, dep := range fd.GetDependency() {
				if _, ok := seen[dep]; ok {
					continue
				}
				missing = true
				if err := ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: dep}}); err != nil {
					return nil, err
				}
				if _, ok := seen[dep]; !ok {
					return nil, fmt.Errorf("reflection did not return %s", dep)
				}
			}
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, fd := range seen {
		set.File = append(set.File, fd)
	}
	return protodesc.NewFiles(set)
}

// grpcHTTPCode maps a gRPC status to the HTTP code vegeta's results expect, so success ratios
// and status code histograms read the same for both (gRPC's own mapping).
func grpcHTTPCode(c codes.Code) uint16 {
	switch c {
	case codes.OK:
		return 200
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return 400
	case codes.Unauthenticated:
		return 401
	case codes.PermissionDenied:
		return 403
	case codes.NotFound:
		return 404
	case codes.AlreadyExists, codes.Aborted:
		return 409
	case codes.ResourceExhausted:
		return 429
	case codes.Canceled:
		return 499
	case codes.Unimplemented:
		return 501
	case codes.Unavailable:
		return 503
	case codes.DeadlineExceeded:
		return 504
	default:
		return 500
	}
}

// grpcUnary is the Transport of gRPC targets: unary calls over a grpcPool.
type grpcUnary struct {
	pool    *grpcPool
	timeout time.Duration
}

func newGRPCUnary(conns int, timeout time.Duration) *grpcUnary {
	return &grpcUnary{pool: newGRPCPool(conns), timeout: timeout}
}

// Hit implements Transport.
func (g *grpcUnary) Hit(ctx context.Context, tgt *Target, h *Hit) bool {
	call := tgt.grpc
	conn, err := g.pool.get(call.addr)
	h.Timestamp = time.Now()
	if err == nil && call.request == nil {
		err = errors.New("gRPC target not prepared: call TargetSet.Prepare before attacking")
	}
	if err == nil {
		cctx := ctx
		if g.timeout > 0 {
			var cancel context.CancelFunc
			cctx, cancel = context.WithTimeout(ctx, g.timeout)
			defer cancel()
		}
		var resp []byte
		req := call.request
		err = conn.Invoke(cctx, call.method, &req, &resp, grpc.ForceCodec(rawCodec{}))
		h.BytesIn = uint64(len(resp))
	}
	h.Latency = time.Since(h.Timestamp)
	h.BytesOut = uint64(len(call.request))
	st := status.Convert(err)
	if st.Code() == codes.Canceled && ctx.Err() != nil {
		return false
	}
	h.Code = grpcHTTPCode(st.Code())
	if err != nil {
		h.Error = fmt.Sprintf("grpc %s: %s", st.Code(), st.Message())
	}
	return true
}

// Close implements Transport.
func (g *grpcUnary) Close() { g.pool.close() }

// Prepare resolves by server reflection the methods of the gRPC targets that Protos did not
// resolve, and encodes their JSON requests. It does nothing for HTTP targets; Run calls it.
func (ts *TargetSet) Prepare(ctx context.Context) error {
	ts.prepareOnce.Do(func() {
		for _, t := range ts.targets {
			if t.grpc == nil || t.grpc.request != nil {
				continue
			}
			conn, err := grpc.NewClient(t.grpc.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				ts.prepareErr = fmt.Errorf("%s: %w", t.Name, err)
				return
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = resolveGRPC(rctx, conn, t.grpc)
			cancel()
			_ = conn.Close()
			if err != nil {
				ts.prepareErr = fmt.Errorf("%s: %w", t.Name, err)
				return
			}
		}
	})
	return ts.prepareErr
}
