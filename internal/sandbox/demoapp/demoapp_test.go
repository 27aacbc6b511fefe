package demoapp

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// app starts emoji-svc, voting-svc and web on real loopback sockets.
func app(t *testing.T, web Behaviour) (string, *Knobs) {
	t.Helper()
	serve := func(register func(s *grpc.Server)) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := NewGRPCServer(nil)
		register(s)
		go func() { _ = s.Serve(l) }()
		t.Cleanup(s.Stop)
		return l.Addr().String()
	}
	emojiAddr := serve(func(s *grpc.Server) { RegisterEmoji(s, NewKnobs(Behaviour{})) })
	votingAddr := serve(func(s *grpc.Server) { RegisterVoting(s, &Votes{}, NewKnobs(Behaviour{})) })
	emoji, err := Dial(emojiAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	voting, err := Dial(votingAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emoji.Close(); voting.Close() })
	k := NewKnobs(web)
	srv := httptest.NewServer(NewWeb(emoji, voting, k, "v1", "web-v1-0"))
	t.Cleanup(srv.Close)
	return srv.URL, k
}

func get(t *testing.T, url string, into any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

func TestAPIOverLoopback(t *testing.T) {
	url, _ := app(t, Behaviour{})
	var list []Emoji
	if resp := get(t, url+"/api/list", &list); resp.StatusCode != 200 || len(list) != len(Catalogue) {
		t.Fatalf("list: status %d, %d emoji", resp.StatusCode, len(list))
	}
	if list[1] != (Emoji{"😂", ":joy:"}) {
		t.Errorf("list[1] = %+v", list[1])
	}
	for _, c := range []string{":joy:", ":joy:", ":100:", ":stuck_out_tongue_winking_eye:"} {
		if resp := get(t, url+"/api/vote?choice="+c, nil); resp.StatusCode != 200 {
			t.Fatalf("vote %s: status %d", c, resp.StatusCode)
		}
	}
	if resp := get(t, url+"/api/vote?choice=:nope:", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown choice: status %d, want 400", resp.StatusCode)
	}
	var board []leaderboardEntry
	get(t, url+"/api/leaderboard", &board)
	want := []leaderboardEntry{{":joy:", "😂", 2}, {":stuck_out_tongue_winking_eye:", "😜", 1}, {":100:", "💯", 1}}
	if len(board) != len(want) {
		t.Fatalf("leaderboard = %+v, want %+v", board, want)
	}
	for i := range want {
		if board[i] != want[i] {
			t.Errorf("leaderboard[%d] = %+v, want %+v", i, board[i], want[i])
		}
	}
	if v := get(t, url+"/api/list", nil).Header.Get("X-Demo-Version"); v != "v1" {
		t.Errorf("X-Demo-Version = %q", v)
	}
}

func TestKnobs(t *testing.T) {
	url, k := app(t, Behaviour{})
	resp, err := http.Post(url+AdminPath+"?failureRate=1&delay=20ms", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := k.Get(); got.FailureRate != 1 || got.Delay != 20*time.Millisecond {
		t.Fatalf("knobs = %+v", got)
	}
	start := time.Now()
	if resp := get(t, url+"/api/list", nil); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500 with failure rate 1", resp.StatusCode)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("answered in %s, want >= 20ms delay", d)
	}
	for _, bad := range []string{"failureRate=2", "failureRate=x", "delay=-1s", "delay=soon"} {
		resp, err := http.Post(url+AdminPath+"?"+bad, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestVoteMethod(t *testing.T) {
	for in, want := range map[string]string{":joy:": "VoteJoy", ":100:": "Vote100", ":8ball:": "Vote8ball",
		":stuck_out_tongue_winking_eye:": "VoteStuckOutTongueWinkingEye", ":point_up_2:": "VotePointUp2"} {
		if got := VoteMethod(in); got != want {
			t.Errorf("VoteMethod(%s) = %s, want %s", in, got, want)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add((&listAllResponse{List: Catalogue[:3]}).marshal(nil))
	f.Add((&resultsResponse{Results: []Result{{":joy:", 3}}}).marshal(nil))
	f.Add([]byte{0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var l listAllResponse
		if l.unmarshal(b) == nil {
			var again listAllResponse
			if err := again.unmarshal(l.marshal(nil)); err != nil {
				t.Fatalf("re-decode: %v", err)
			}
		}
		var r resultsResponse
		_ = r.unmarshal(b)
	})
}

func TestCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewGRPCServer(nil)
	RegisterEmoji(s, NewKnobs(Behaviour{}))
	go func() { _ = s.Serve(l) }()
	defer s.Stop()
	ctx := context.Background()
	if err := Check(ctx, l.Addr().String(), EmojiService); err != nil {
		t.Errorf("emoji: %v", err)
	}
	if err := Check(ctx, l.Addr().String(), VotingService); err == nil {
		t.Error("voting check passed against the emoji service")
	}
}
