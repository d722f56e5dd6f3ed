package netstat

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// mistype changes one character in the middle of s, as a person might.
func mistype(s string) string {
	i := len(s) / 2
	c := byte('A')
	if s[i] == c {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestCursorRoundTrip(t *testing.T) {
	for _, seq := range []uint64{0, 1, 2, 255, 1 << 40, math.MaxUint64} {
		c := CursorAt(seq)
		got, err := ParseCursor(c.String())
		if err != nil || got.Seq() != seq {
			t.Errorf("ParseCursor(%q) = %d, %v; want %d", c.String(), got.Seq(), err, seq)
		}
	}
	if s := CursorAt(1).String(); len(s) != 19 || strings.ContainsAny(s, "+/=") {
		t.Errorf("cursor text %q: want 19 URL-safe characters", s)
	}
}

func TestParseCursorRejects(t *testing.T) {
	good := CursorAt(42).String()
	tests := []struct{ name, in, why string }{
		{"garbage", "hello world", "not base64url"},
		{"padding", good + "=", "not base64url"},
		{"newline", good[:10] + "\n" + good[10:], "not base64url"},
		{"truncated", good[:len(good)-4], "checksum"},
		{"too short", "AAAA", "too short"},
		{"mistyped", mistype(good), "checksum"},
		{"page cursor", PageCursor{after: Row{ID: "x", State: StateLost}, set: true}.String(), "an event cursor"},
		{"future version", sealVersion(2, kindEvent, make([]byte, 8)), "unknown version 2"},
		{"zero sequence", sealCursor(kindEvent, make([]byte, 8)), "bad sequence"},
		{"short sequence", sealCursor(kindEvent, []byte{1}), "bad sequence"},
		{"huge", strings.Repeat("A", 5000), "at most"},
	}
	for _, tt := range tests {
		_, err := ParseCursor(tt.in)
		if !errors.Is(err, ErrMalformedCursor) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%s: ParseCursor(%q) = %v, want ErrMalformedCursor mentioning %q", tt.name, tt.in, err, tt.why)
		}
	}
	if c, err := ParseCursor(""); err != nil || c.Seq() != 0 {
		t.Errorf(`ParseCursor("") = %d, %v; want the start`, c.Seq(), err)
	}
}
