package demoapp

import (
	"context"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/trafficctl/trafficctl/internal/sandbox/tracing"
)

// Full gRPC service names, as in the .proto files.
const (
	EmojiService  = "emojivoto.v1.EmojiService"
	VotingService = "emojivoto.v1.VotingService"
)

// handler adapts a typed unary method to grpc's generic MethodDesc handler, running the
// server's interceptors (trace context) around it as generated code does.
func handler[Req any, PReq interface {
	*Req
	message
}](fullMethod string, fn func(ctx context.Context, req PReq) (message, error)) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
		req := PReq(new(Req))
		if err := dec(req); err != nil {
			return nil, err
		}
		if intercept == nil {
			return fn(ctx, req)
		}
		info := &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}
		return intercept(ctx, req, info, func(ctx context.Context, req any) (any, error) { return fn(ctx, req.(PReq)) })
	}
}

// NewGRPCServer returns a gRPC server using this package's protobuf codec that continues the
// callers' trace context (and records server spans when tr is not nil).
func NewGRPCServer(tr *tracing.Tracer) *grpc.Server {
	return grpc.NewServer(grpc.ForceServerCodec(codec{}), grpc.StatsHandler(tracing.ServerHandler(tr)))
}

// RegisterEmoji serves emojivoto.v1.EmojiService on s.
func RegisterEmoji(s *grpc.Server, k *Knobs) {
	fail := func(ctx context.Context) error {
		if k.apply(ctx.Done()) {
			return status.Error(codes.Internal, "emoji: injected failure")
		}
		return nil
	}
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: EmojiService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "ListAll", Handler: handler("/"+EmojiService+"/ListAll", func(ctx context.Context, _ *empty) (message, error) {
				if err := fail(ctx); err != nil {
					return nil, err
				}
				return &listAllResponse{List: Catalogue}, nil
			})},
			{MethodName: "FindByShortcode", Handler: handler("/"+EmojiService+"/FindByShortcode", func(ctx context.Context, req *findRequest) (message, error) {
				if err := fail(ctx); err != nil {
					return nil, err
				}
				if e, ok := findEmoji(req.Shortcode); ok {
					return &findResponse{Emoji: &e}, nil
				}
				return &findResponse{}, nil
			})},
		},
	}, struct{}{})
}

// Votes counts votes in memory, as upstream's voting-svc does.
type Votes struct {
	mu     sync.Mutex
	counts map[string]int32
}

// RegisterVoting serves emojivoto.v1.VotingService on s, counting into v.
func RegisterVoting(s *grpc.Server, v *Votes, k *Knobs) {
	v.mu.Lock()
	v.counts = map[string]int32{}
	v.mu.Unlock()
	methods := make([]grpc.MethodDesc, 0, len(Catalogue)+1)
	for _, e := range Catalogue {
		shortcode := e.Shortcode
		methods = append(methods, grpc.MethodDesc{MethodName: VoteMethod(shortcode),
			Handler: handler("/"+VotingService+"/"+VoteMethod(shortcode), func(ctx context.Context, _ *empty) (message, error) {
				if k.apply(ctx.Done()) {
					return nil, status.Error(codes.Internal, "voting: injected failure")
				}
				v.mu.Lock()
				v.counts[shortcode]++
				v.mu.Unlock()
				return &empty{}, nil
			})})
	}
	methods = append(methods, grpc.MethodDesc{MethodName: "Results",
		Handler: handler("/"+VotingService+"/Results", func(ctx context.Context, _ *empty) (message, error) {
			if k.apply(ctx.Done()) {
				return nil, status.Error(codes.Internal, "voting: injected failure")
			}
			return &resultsResponse{Results: v.results()}, nil
		})})
	s.RegisterService(&grpc.ServiceDesc{ServiceName: VotingService, HandlerType: (*any)(nil), Methods: methods}, struct{}{})
}

// results ranks emoji by votes, most first; ties keep catalogue order.
func (v *Votes) results() []Result {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]Result, 0, len(v.counts))
	for _, e := range Catalogue {
		if n := v.counts[e.Shortcode]; n > 0 {
			out = append(out, Result{Shortcode: e.Shortcode, Votes: n})
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int { return int(b.Votes - a.Votes) })
	return out
}
