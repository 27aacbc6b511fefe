package demoapp

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The messages of deploy/emojivoto/api/proto/emojivoto/v1, encoded by hand with protowire so
// that the demo app needs no generated code: the bytes on the wire are those of the upstream
// protobuf messages, so real Emojivoto clients and servers interoperate with these.

// Emoji is emojivoto.v1.Emoji.
type Emoji struct {
	Unicode   string `json:"unicode"`
	Shortcode string `json:"shortcode"`
}

func (e *Emoji) marshal(b []byte) []byte {
	b = appendString(b, 1, e.Unicode)
	return appendString(b, 2, e.Shortcode)
}

func (e *Emoji) unmarshal(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch num {
		case 1:
			e.Unicode = string(v)
		case 2:
			e.Shortcode = string(v)
		}
		return nil
	})
}

// message is a protobuf message this package can encode.
type message interface {
	marshal(b []byte) []byte
	unmarshal(b []byte) error
}

// empty is every field-less request and response (ListAllEmojiRequest, VoteRequest,
// VoteResponse, ResultsRequest).
type empty struct{}

func (*empty) marshal(b []byte) []byte  { return b }
func (*empty) unmarshal(b []byte) error { return eachField(b, nil) }

// listAllResponse is emojivoto.v1.ListAllEmojiResponse.
type listAllResponse struct{ List []Emoji }

func (m *listAllResponse) marshal(b []byte) []byte {
	for i := range m.List {
		b = appendMessage(b, 1, &m.List[i])
	}
	return b
}

func (m *listAllResponse) unmarshal(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != 1 {
			return nil
		}
		var e Emoji
		if err := e.unmarshal(v); err != nil {
			return err
		}
		m.List = append(m.List, e)
		return nil
	})
}

// findRequest is emojivoto.v1.FindByShortcodeRequest.
type findRequest struct{ Shortcode string }

func (m *findRequest) marshal(b []byte) []byte { return appendString(b, 1, m.Shortcode) }

func (m *findRequest) unmarshal(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num == 1 {
			m.Shortcode = string(v)
		}
		return nil
	})
}

// findResponse is emojivoto.v1.FindByShortcodeResponse; a nil Emoji means not found.
type findResponse struct{ Emoji *Emoji }

func (m *findResponse) marshal(b []byte) []byte {
	if m.Emoji == nil {
		return b
	}
	return appendMessage(b, 1, m.Emoji)
}

func (m *findResponse) unmarshal(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num == 1 {
			m.Emoji = &Emoji{}
			return m.Emoji.unmarshal(v)
		}
		return nil
	})
}

// Result is emojivoto.v1.VotingResult.
type Result struct {
	Shortcode string `json:"shortcode"`
	Votes     int32  `json:"votes"`
}

func (r *Result) marshal(b []byte) []byte {
	b = appendString(b, 1, r.Shortcode)
	if r.Votes != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(r.Votes)))
	}
	return b
}

func (r *Result) unmarshal(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch num {
		case 1:
			r.Shortcode = string(v)
		case 2:
			n, _ := protowire.ConsumeVarint(v)
			r.Votes = int32(n)
		}
		return nil
	})
}

// resultsResponse is emojivoto.v1.ResultsResponse.
type resultsResponse struct{ Results []Result }

func (m *resultsResponse) marshal(b []byte) []byte {
	for i := range m.Results {
		b = appendMessage(b, 1, &m.Results[i])
	}
	return b
}

func (m *resultsResponse) unmarshal(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != 1 {
			return nil
		}
		var r Result
		if err := r.unmarshal(v); err != nil {
			return err
		}
		m.Results = append(m.Results, r)
		return nil
	})
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, m message) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m.marshal(nil))
}

var errMalformed = errors.New("malformed protobuf message")

// eachField calls fn with every field's number, type and value: the payload for length-delimited
// fields, the raw varint bytes for varints. Unknown fields are skipped, as protobuf requires.
func eachField(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			payload, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(m))
			}
			v, n = payload, m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%w: %w", errMalformed, protowire.ParseError(n))
			}
			v = b[:n]
		}
		if fn != nil {
			if err := fn(num, typ, v); err != nil {
				return err
			}
		}
		b = b[n:]
	}
	return nil
}

// codec is grpc's "proto" codec for this package's messages.
type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(message)
	if !ok {
		return nil, fmt.Errorf("demoapp codec: cannot marshal %T", v)
	}
	return m.marshal(nil), nil
}

func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(message)
	if !ok {
		return fmt.Errorf("demoapp codec: cannot unmarshal into %T", v)
	}
	return m.unmarshal(data)
}
