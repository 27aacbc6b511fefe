package load

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Limits of a histogram read from a report file. trafficctl writes histograms of 1 µs..1 h with
// at most three significant digits: a few kB compressed, well under 100 kB decompressed.
const (
	maxHDREncoded      = 4 << 20 // base64 characters
	maxHDRDecompressed = 4 << 20 // bytes
	maxHDRDigits       = 3
	maxHDRHighest      = int64(1) << 40
	hdrHeaderSize      = 40 // the decompressed V2 header
	hdrCompressedV2    = 0x1c849304
	hdrUncompressedV2  = 0x1c849303
)

// decodeHist decodes a base64 V2-compressed histogram from an untrusted report. The library's
// Decode indexes its input before checking its length, inflates without limit (a 1 GB zlib
// bomb) and allocates whatever range the header asks for; this checks sizes, the header and
// the inflated length first, and turns any remaining panic into an error.
func decodeHist(s string) (h *hdrhistogram.Histogram, err error) {
	if len(s) > maxHDREncoded {
		return nil, fmt.Errorf("histogram of %d bytes: at most %d", len(s), maxHDREncoded)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	if len(raw) < 8 {
		return nil, fmt.Errorf("histogram: %d bytes, shorter than its header", len(raw))
	}
	cookie := int32(binary.BigEndian.Uint32(raw)) &^ 0xf0
	n := int64(int32(binary.BigEndian.Uint32(raw[4:])))
	if cookie != hdrCompressedV2 || n < 0 || n > int64(len(raw)-8) {
		return nil, fmt.Errorf("histogram: not a V2 compressed histogram, or its length %d does not fit", n)
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	defer z.Close()
	plain, err := io.ReadAll(io.LimitReader(z, maxHDRDecompressed+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("histogram: %w", err)
	case len(plain) > maxHDRDecompressed:
		return nil, fmt.Errorf("histogram inflates beyond %d bytes", maxHDRDecompressed)
	case len(plain) < hdrHeaderSize:
		return nil, fmt.Errorf("histogram: inflated %d bytes, shorter than its header", len(plain))
	}
	digits := int32(binary.BigEndian.Uint32(plain[12:]))
	lowest := int64(binary.BigEndian.Uint64(plain[16:]))
	highest := int64(binary.BigEndian.Uint64(plain[24:]))
	if int32(binary.BigEndian.Uint32(plain))&^0xf0 != hdrUncompressedV2 || digits < 1 || digits > maxHDRDigits ||
		lowest < 1 || highest < 2*lowest || highest > maxHDRHighest {
		return nil, fmt.Errorf("histogram: unsupported header (%d digits, range %d..%d): at most %d digits within 1..%d",
			digits, lowest, highest, maxHDRDigits, maxHDRHighest)
	}
	defer func() {
		if v := recover(); v != nil {
			h, err = nil, fmt.Errorf("histogram: malformed counts: %v", v)
		}
	}()
	return hdrhistogram.Decode([]byte(s))
}
