package federation

import (
	"encoding/binary"
	"time"

	"github.com/cairn-fed/cairn/internal/wire"
)

// reader decodes this package's encodings from untrusted bytes.
type reader struct{ *wire.Reader }

func newReader(b []byte) reader { return reader{wire.NewReader(b, ErrMalformed)} }

// text reads a u16-length-prefixed string of at most maxLen bytes; its
// contents are checked later by the validation rules.
func (r reader) text(maxLen int, what string) string { return r.Text(0, maxLen, what) }

// blob reads a u8-length-prefixed byte string that must be exactly size
// bytes long, and copies it so that the result does not alias the input.
func (r reader) blob(size int, what string) []byte {
	if int(r.U8(what)) != size {
		r.Fail(what)
		return nil
	}
	return append([]byte(nil), r.Take(size, what)...)
}

// time reads nanoseconds since the Unix epoch; 0 stands for the zero time.
func (r reader) time(what string) time.Time {
	n := r.U64(what)
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}

// count reads a u32 element count and bounds it both by limit and by the
// bytes left, so a hostile count cannot make the decoder allocate much.
func (r reader) count(limit, minEntry int, what string) int {
	n := r.U32(what)
	if r.Err() == nil && (n > limit || n*minEntry > r.Remaining()) {
		r.Fail(what)
		return 0
	}
	return n
}

func appendBlob(b, p []byte) []byte {
	b = append(b, byte(len(p)))
	return append(b, p...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.BigEndian.AppendUint64(b, 0)
	}
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
}
