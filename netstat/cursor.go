package netstat

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Cursors travel as printable, URL-safe text: base64url (no padding) of
// a version byte, a kind byte, the payload and a CRC-32 of all that. The
// checksum catches typos and truncation when people paste cursors; it is
// not a secret. Only canonical text parses.

const (
	cursorVersion  = 1
	kindEvent      = 'e'
	kindPage       = 'p'
	maxCursorText  = 1024 // longer input is rejected before decoding
	maxPageIDBytes = 700  // fits maxCursorText; CIDs are far shorter
)

var cursorText = base64.RawURLEncoding.Strict()

func sealCursor(kind byte, payload []byte) string {
	return sealVersion(cursorVersion, kind, payload)
}

func sealVersion(version, kind byte, payload []byte) string {
	b := append([]byte{version, kind}, payload...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return cursorText.EncodeToString(b)
}

// openCursor checks the envelope and returns the payload.
func openCursor(s string, kind byte) ([]byte, error) {
	if len(s) > maxCursorText {
		return nil, fmt.Errorf("%w: %d characters, at most %d", ErrMalformedCursor, len(s), maxCursorText)
	}
	b, err := cursorText.DecodeString(s)
	if err != nil || cursorText.EncodeToString(b) != s {
		return nil, fmt.Errorf("%w: not base64url text", ErrMalformedCursor)
	}
	if len(b) < 6 {
		return nil, fmt.Errorf("%w: too short", ErrMalformedCursor)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	switch {
	case crc32.ChecksumIEEE(body) != sum:
		return nil, fmt.Errorf("%w: checksum mismatch (mistyped or truncated?)", ErrMalformedCursor)
	case body[0] != cursorVersion:
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformedCursor, body[0])
	case body[1] != kind:
		return nil, fmt.Errorf("%w: a %s cursor where %s cursor was expected", ErrMalformedCursor, kindName(body[1]), kindName(kind))
	}
	return body[2:], nil
}

func kindName(k byte) string {
	switch k {
	case kindEvent:
		return "an event"
	case kindPage:
		return "a page"
	}
	return "an unknown"
}

// Cursor is a position in the event stream: the last event a subscriber
// has seen. Resuming from it delivers the events with a higher Seq, so a
// subscriber that saves its cursor after each event sees every event
// exactly once. The zero Cursor is the start of the stream; it prints as
// "".
type Cursor struct {
	seq uint64
}

// CursorAt returns the cursor just after the event with sequence seq.
func CursorAt(seq uint64) Cursor { return Cursor{seq: seq} }

// Seq returns the sequence of the last event seen (0 at the start).
func (c Cursor) Seq() uint64 { return c.seq }

// String returns the printable cursor ("" for the start).
func (c Cursor) String() string {
	if c.seq == 0 {
		return ""
	}
	return sealCursor(kindEvent, binary.BigEndian.AppendUint64(nil, c.seq))
}

// ParseCursor parses what Cursor.String returns. "" is the start of the
// stream; anything else malformed wraps ErrMalformedCursor and says why.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	p, err := openCursor(s, kindEvent)
	if err != nil {
		return Cursor{}, fmt.Errorf("parse cursor: %w", err)
	}
	if len(p) != 8 || binary.BigEndian.Uint64(p) == 0 {
		return Cursor{}, fmt.Errorf("parse cursor: %w: bad sequence", ErrMalformedCursor)
	}
	return Cursor{seq: binary.BigEndian.Uint64(p)}, nil
}

// MarshalText encodes the cursor as String does.
func (c Cursor) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses as ParseCursor does.
func (c *Cursor) UnmarshalText(b []byte) error {
	p, err := ParseCursor(string(b))
	*c = p
	return err
}

// PageCursor is a position in the dashboard overview: the last row of the
// previous page. The zero PageCursor is the first page; it prints as "".
type PageCursor struct {
	after Row
	set   bool
}

// String returns the printable cursor ("" for the first page).
func (c PageCursor) String() string {
	if !c.set {
		return ""
	}
	return sealCursor(kindPage, append([]byte{byte(c.after.State)}, c.after.ID...))
}

// ParsePageCursor parses what PageCursor.String returns; "" is the first
// page.
func ParsePageCursor(s string) (PageCursor, error) {
	if s == "" {
		return PageCursor{}, nil
	}
	p, err := openCursor(s, kindPage)
	if err != nil {
		return PageCursor{}, fmt.Errorf("parse page cursor: %w", err)
	}
	if len(p) < 2 || len(p) > 1+maxPageIDBytes || State(p[0]) == StateUnknown || State(p[0]) >= numStates {
		return PageCursor{}, fmt.Errorf("parse page cursor: %w: bad position", ErrMalformedCursor)
	}
	return PageCursor{after: Row{ID: string(p[1:]), State: State(p[0])}, set: true}, nil
}
