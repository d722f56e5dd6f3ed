package tombstone

import (
	"encoding/binary"
	"time"
	"unicode/utf8"

	"github.com/cairn-fed/cairn/internal/wire"
)

// Wire constants shared by every message of this package.
const (
	wireVersion   = 1
	typeTombstone = 1
	typeAck       = 2
	typeDigest    = 3
	typeListing   = 4

	// MaxObjectLen bounds an object identifier (a CID string) in bytes.
	MaxObjectLen = 256
	// MaxHolderLen bounds a holder (peer ID string) in bytes.
	MaxHolderLen = 128
	// MaxReasonLen bounds a takedown reason in bytes of UTF-8.
	MaxReasonLen = 512
)

// reader decodes this package's messages from untrusted bytes.
type reader struct{ *wire.Reader }

func newReader(b []byte) reader { return reader{wire.NewReader(b, ErrMalformed)} }

// text reads an identifier or a reason of 1..maxLen bytes.
func (r reader) text(maxLen int, what string) string { return r.Text(1, maxLen, what) }

func (r reader) timestamp(what string) time.Time {
	return time.Unix(0, int64(r.U64(what))).UTC()
}

// header checks the wire version and message type.
func (r reader) header(msgType byte) {
	if r.U8("wire version") != wireVersion || r.U8("message type") != msgType {
		r.Fail("header")
	}
}

func appendTime(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
}

// validID accepts identifiers made of 1..maxLen printable ASCII bytes, which
// covers CID and peer ID strings and keeps logs free of control characters.
func validID(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func validReason(s string) bool {
	return len(s) <= MaxReasonLen && utf8.ValidString(s)
}

// representable reports whether t survives the nanosecond encoding
// (years 1678 to 2262) and is not the zero time.
func representable(t time.Time) bool {
	return !t.IsZero() && time.Unix(0, t.UnixNano()).Equal(t)
}

// DecodeMessage decodes a tombstone or an acknowledgement, whichever b
// holds (gossip carries both on one topic); exactly one result is non-nil
// when err is nil.
func DecodeMessage(b []byte) (*Tombstone, *Ack, error) {
	if len(b) < 2 || b[0] != wireVersion {
		return nil, nil, ErrMalformed
	}
	switch b[1] {
	case typeTombstone:
		t, err := Decode(b)
		if err != nil {
			return nil, nil, err
		}
		return &t, nil, nil
	case typeAck:
		a, err := DecodeAck(b)
		if err != nil {
			return nil, nil, err
		}
		return nil, &a, nil
	}
	return nil, nil, ErrMalformed
}
