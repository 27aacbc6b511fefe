package demoapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/trafficctl/trafficctl/internal/sandbox/tracing"
)

// Web is the web front end: the HTTP API of upstream Emojivoto's web, calling the emoji and
// voting services over gRPC.
type Web struct {
	emoji, voting *grpc.ClientConn
	knobs         *Knobs
	// Version and Replica are sent back in the X-Demo-Version and X-Demo-Replica headers, so a
	// caller sees which version and process answered.
	Version, Replica string
	mux              *http.ServeMux
}

// Dial connects to a gRPC service of the demo app (plaintext h2c on loopback). Calls carry the
// caller's W3C trace context, so one request through web, emoji and voting is one trace, and
// are recorded as client spans when tr is not nil.
func Dial(addr string, tr *tracing.Tracer) (*grpc.ClientConn, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{})),
		grpc.WithStatsHandler(tracing.ClientHandler(tr)))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return cc, nil
}

// NewWeb builds the web handler over connections to emoji-svc and voting-svc.
func NewWeb(emoji, voting *grpc.ClientConn, k *Knobs, version, replica string) *Web {
	w := &Web{emoji: emoji, voting: voting, knobs: k, Version: version, Replica: replica, mux: http.NewServeMux()}
	w.mux.HandleFunc("GET /api/list", w.list)
	w.mux.HandleFunc("/api/vote", w.vote)
	w.mux.HandleFunc("GET /api/leaderboard", w.leaderboard)
	w.mux.Handle(AdminPath, k)
	w.mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	return w
}

// ServeHTTP answers the API.
func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("X-Demo-Version", w.Version)
	rw.Header().Set("X-Demo-Replica", w.Replica)
	if r.URL.Path != AdminPath && r.URL.Path != "/healthz" && w.knobs.apply(r.Context().Done()) {
		http.Error(rw, "web: injected failure", http.StatusInternalServerError)
		return
	}
	w.mux.ServeHTTP(rw, r)
}

func call(ctx context.Context, cc *grpc.ClientConn, method string, req, resp message) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return cc.Invoke(ctx, method, req, resp)
}

func (w *Web) list(rw http.ResponseWriter, r *http.Request) {
	var resp listAllResponse
	if err := call(r.Context(), w.emoji, "/"+EmojiService+"/ListAll", &empty{}, &resp); err != nil {
		http.Error(rw, "list emoji: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(rw, resp.List)
}

func (w *Web) vote(rw http.ResponseWriter, r *http.Request) {
	choice := r.URL.Query().Get("choice")
	var found findResponse
	if err := call(r.Context(), w.emoji, "/"+EmojiService+"/FindByShortcode", &findRequest{Shortcode: choice}, &found); err != nil {
		http.Error(rw, "find emoji: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if found.Emoji == nil {
		http.Error(rw, fmt.Sprintf("unknown emoji %q", choice), http.StatusBadRequest)
		return
	}
	if err := call(r.Context(), w.voting, "/"+VotingService+"/"+VoteMethod(choice), &empty{}, &empty{}); err != nil {
		http.Error(rw, "vote: "+err.Error(), http.StatusInternalServerError)
		return
	}
}

// leaderboardEntry is one row of /api/leaderboard.
type leaderboardEntry struct {
	Shortcode string `json:"shortcode"`
	Unicode   string `json:"unicode"`
	Votes     int32  `json:"votes"`
}

func (w *Web) leaderboard(rw http.ResponseWriter, r *http.Request) {
	var res resultsResponse
	if err := call(r.Context(), w.voting, "/"+VotingService+"/Results", &empty{}, &res); err != nil {
		http.Error(rw, "results: "+err.Error(), http.StatusInternalServerError)
		return
	}
	out := make([]leaderboardEntry, 0, len(res.Results))
	for _, x := range res.Results {
		e, _ := findEmoji(x.Shortcode)
		out = append(out, leaderboardEntry{Shortcode: x.Shortcode, Unicode: e.Unicode, Votes: x.Votes})
	}
	writeJSON(rw, out)
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(v)
}

// Check calls a read-only RPC of the gRPC service at addr (EmojiService/ListAll or
// VotingService/Results): a health check that proves the service answers, not just listens.
func Check(ctx context.Context, addr, service string) error {
	cc, err := Dial(addr, nil)
	if err != nil {
		return err
	}
	defer cc.Close()
	switch service {
	case EmojiService:
		return call(ctx, cc, "/"+EmojiService+"/ListAll", &empty{}, &listAllResponse{})
	case VotingService:
		return call(ctx, cc, "/"+VotingService+"/Results", &empty{}, &resultsResponse{})
	}
	return fmt.Errorf("unknown service %q", service)
}
