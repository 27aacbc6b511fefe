package gogen

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	emojivotov1 "github.com/trafficctl/trafficctl/deploy/emojivoto/api/gen/emojivoto/v1"
)

// TestEmojivotoGenerated checks the generated code is the contract: messages round-trip on
// the wire and the services carry every RPC (web calls one Vote RPC per emoji).
func TestEmojivotoGenerated(t *testing.T) {
	in := &emojivotov1.ListAllEmojiResponse{List: []*emojivotov1.Emoji{{Unicode: "😂", Shortcode: ":joy:"}}}
	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out emojivotov1.ListAllEmojiResponse
	if err := proto.Unmarshal(b, &out); err != nil || !proto.Equal(in, &out) {
		t.Errorf("round trip: %v, got %v", err, &out)
	}
	for _, tc := range []struct {
		file    protoreflect.FileDescriptor
		service protoreflect.Name
		methods int
	}{
		{emojivotov1.File_emojivoto_v1_emoji_proto, "EmojiService", 2},
		{emojivotov1.File_emojivoto_v1_voting_proto, "VotingService", 104},
	} {
		s := tc.file.Services().ByName(tc.service)
		if s == nil {
			t.Errorf("service %s not in %s", tc.service, tc.file.Path())
			continue
		}
		if n := s.Methods().Len(); n != tc.methods {
			t.Errorf("%s has %d methods, want %d", tc.service, n, tc.methods)
		}
	}
}
