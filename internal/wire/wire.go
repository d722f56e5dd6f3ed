// Package wire decodes the big-endian binary encodings of Cairn's signed
// messages (rosters, join tokens, tombstones, acknowledgements) from
// untrusted bytes: every read is bounds-checked, the first failure sticks,
// and nothing is allocated beyond what the input holds. It also frames
// messages on streams (frame.go).
package wire

import (
	"encoding/binary"
	"fmt"
)

// Reader reads fields from a buffer. After the first failure every read
// returns a zero value and Err reports the failure, so decoders check once
// at the end.
type Reader struct {
	b         []byte
	err       error
	malformed error // the caller's sentinel, wrapped by every failure
}

// NewReader reads b; failures wrap malformed, the caller's own sentinel.
func NewReader(b []byte, malformed error) *Reader {
	return &Reader{b: b, malformed: malformed}
}

// Fail records that the field named what is malformed, unless a failure
// is already recorded.
func (r *Reader) Fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("read %s: %w", what, r.malformed)
	}
}

// Err is the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Remaining is how many bytes are left to read.
func (r *Reader) Remaining() int { return len(r.b) }

// Take returns the next n bytes, without copying.
func (r *Reader) Take(n int, what string) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.Fail(what)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// U8 reads one byte.
func (r *Reader) U8(what string) byte {
	if b := r.Take(1, what); b != nil {
		return b[0]
	}
	return 0
}

// U16 reads a big-endian uint16.
func (r *Reader) U16(what string) int {
	if b := r.Take(2, what); b != nil {
		return int(binary.BigEndian.Uint16(b))
	}
	return 0
}

// U32 reads a big-endian uint32.
func (r *Reader) U32(what string) int {
	if b := r.Take(4, what); b != nil {
		return int(binary.BigEndian.Uint32(b))
	}
	return 0
}

// U64 reads a big-endian uint64.
func (r *Reader) U64(what string) uint64 {
	if b := r.Take(8, what); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// Text reads a u16-length-prefixed string of minLen to maxLen bytes.
func (r *Reader) Text(minLen, maxLen int, what string) string {
	n := r.U16(what)
	if r.err == nil && (n < minLen || n > maxLen) {
		r.Fail(what)
	}
	return string(r.Take(n, what))
}

// Done fails when bytes are left over: encodings are canonical.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		r.Fail("trailing bytes")
	}
	return r.err
}

// AppendText appends s with the u16 length prefix Text reads.
func AppendText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}
