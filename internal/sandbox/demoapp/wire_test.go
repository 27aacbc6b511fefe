package demoapp

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/trafficctl/trafficctl/deploy/emojivoto/api/gen/emojivoto/v1"
)

// The hand-written encoding must be byte-compatible with the protobuf code generated from the
// .proto contracts (deploy/emojivoto/api), both ways.
func TestWireCompatibleWithGeneratedCode(t *testing.T) {
	list := &listAllResponse{List: Catalogue[:3]}
	var gotList pb.ListAllEmojiResponse
	if err := proto.Unmarshal(list.marshal(nil), &gotList); err != nil {
		t.Fatal(err)
	}
	if len(gotList.List) != 3 || gotList.List[1].Shortcode != ":joy:" || gotList.List[1].Unicode != "😂" {
		t.Errorf("generated code decoded %v", gotList.List)
	}
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&gotList)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(list.marshal(nil)) {
		t.Errorf("ListAllEmojiResponse bytes differ:\n ours %x\n pb   %x", list.marshal(nil), want)
	}

	b, err := proto.Marshal(&pb.ResultsResponse{Results: []*pb.VotingResult{{Shortcode: ":joy:", Votes: 7}, {Shortcode: ":100:", Votes: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	var res resultsResponse
	if err := res.unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || res.Results[0] != (Result{":joy:", 7}) || res.Results[1] != (Result{":100:", 1}) {
		t.Errorf("decoded %+v", res.Results)
	}

	b, err = proto.Marshal(&pb.FindByShortcodeRequest{Shortcode: ":ghost:"})
	if err != nil {
		t.Fatal(err)
	}
	var req findRequest
	if err := req.unmarshal(b); err != nil || req.Shortcode != ":ghost:" {
		t.Errorf("FindByShortcodeRequest: %+v %v", req, err)
	}
	var found pb.FindByShortcodeResponse
	if err := proto.Unmarshal((&findResponse{Emoji: &Emoji{"👻", ":ghost:"}}).marshal(nil), &found); err != nil || found.Emoji.GetShortcode() != ":ghost:" {
		t.Errorf("FindByShortcodeResponse: %v %v", found.Emoji, err)
	}
}
