package profiles

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/trafficctl/trafficctl/pkg/internal/regex"
)

var protoCorpus = []string{
	"testdata/proto/emojivoto/v1/emoji.proto",
	"testdata/proto/emojivoto/v1/voting.proto",
	"testdata/proto/legacy/emoji.proto",
}

func loadProtoCorpus(t *testing.T) *API {
	t.Helper()
	api, err := ParseProto(context.Background(), protoCorpus, ProtoOptions{ImportPaths: []string{"testdata/proto"}})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func TestGoldenProto(t *testing.T) {
	plan, err := NewPlan(loadProtoCorpus(t), Options{Service: "emoji-svc", Namespace: "emojivoto", Timeout: "1s"})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := yamlOf(plan.ServiceProfile())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "proto.serviceprofile.yaml", sp)
	checkGolden(t, "proto.grpcroute.yaml", renderRoutes(t, plan.RouteObjects()))
}

func TestProtoRoutes(t *testing.T) {
	plan, err := NewPlan(loadProtoCorpus(t), Options{Service: "emoji-svc", Namespace: "emojivoto"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{ // route name -> retryable
		"/emojivoto.v1.EmojiService/FindByShortcode": true,
		"/emojivoto.v1.EmojiService/ListAll":         true,
		"/emojivoto.v1.VotingService/Results":        true,
		"/emojivoto.v1.VotingService/VoteDoughnut":   false,
		"/emojivoto.v1.VotingService/VoteJoy":        false,
		"/legacy.EmojiService/FindByShortcode":       true,
		"/legacy.EmojiService/ListAll":               false,
	}
	if len(plan.Routes) != len(want) {
		t.Fatalf("%d routes, want %d", len(plan.Routes), len(want))
	}
	for _, r := range plan.Routes {
		retry, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected route %q", r.Name)
			continue
		}
		if r.IsRetryable != retry || r.Method != "POST" {
			t.Errorf("%s: retryable %t method %s, want %t POST", r.Name, r.IsRetryable, r.Method, retry)
		}
		if !regex.MatchWhole(r.PathRegex(), r.Path) || regex.MatchWhole(r.PathRegex(), strings.Replace(r.Path, ".", "x", 1)) {
			t.Errorf("%s: regex %q does not match exactly its path", r.Name, r.PathRegex())
		}
	}
	if len(plan.Overlaps) != 0 {
		t.Errorf("overlaps: %v", plan.Overlaps)
	}
	ro := plan.RouteObjects()
	if len(ro.HTTP) != 0 {
		t.Errorf("proto input produced %d HTTPRoutes", len(ro.HTTP))
	}
	for _, g := range ro.GRPC {
		if _, ok := g.Annotations[AnnotationRetryHTTP]; ok {
			t.Errorf("%s: has %s", g.Name, AnnotationRetryHTTP)
		}
		for _, rule := range g.Spec.Rules {
			for _, m := range rule.Matches {
				if *m.Method.Type != "Exact" {
					t.Errorf("%s: %s match", g.Name, *m.Method.Type)
				}
			}
		}
	}
}

func TestProtoBadInput(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		want  []string
	}{
		{"syntax error", []string{"testdata/proto/bad/syntax.proto"}, []string{"syntax.proto", "line 5, column 1"}},
		{"missing import", []string{"testdata/proto/bad/missing-import.proto"}, []string{"nowhere/missing.proto"}},
		{"missing file", []string{"testdata/proto/none.proto"}, []string{"none.proto"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProto(context.Background(), tc.files, ProtoOptions{})
			if err == nil || !IsInputError(err) {
				t.Fatalf("got %v, want an InputError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func FuzzParseProto(f *testing.F) {
	f.Add("syntax = \"proto3\";\npackage p;\nservice S { rpc M (R) returns (R) { option idempotency_level = IDEMPOTENT; } }\nmessage R {}\n")
	f.Add("syntax = \"proto2\";\npackage a.b;\nimport \"google/protobuf/empty.proto\";\nservice S { rpc M (google.protobuf.Empty) returns (google.protobuf.Empty); }\n")
	f.Add("service {")
	f.Fuzz(func(t *testing.T, src string) {
		access := func(path string) (io.ReadCloser, error) {
			if path == "fuzz.proto" {
				return io.NopCloser(strings.NewReader(src)), nil
			}
			return nil, &InputError{Source: path, Err: io.ErrUnexpectedEOF}
		}
		api, err := ParseProto(context.Background(), []string{"fuzz.proto"}, ProtoOptions{ImportPaths: []string{"."}, Accessor: access})
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("error is not an InputError: %v", err)
			}
			return
		}
		if _, err := NewPlan(api, Options{Service: "s", Namespace: "n"}); err != nil {
			t.Fatal(err)
		}
	})
}
