package gogen

// Where emojivoto's contracts and generated code live, relative to the repository root.
const (
	EmojivotoProtoDir = "deploy/emojivoto/api/proto"
	EmojivotoGenDir   = "deploy/emojivoto/api/gen"
)

// EmojivotoProtos are the files generated, relative to EmojivotoProtoDir.
var EmojivotoProtos = []string{"emojivoto/v1/emoji.proto", "emojivoto/v1/voting.proto"}
