package netstat

import "testing"

// Cursors come from subscribers and browsers: untrusted input. Parsing
// must not panic, and whatever parses must print back to the same text.

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", CursorAt(1).String(), CursorAt(1 << 50).String(), "AQ", "hello", mistype(CursorAt(7).String())} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		if got := c.String(); got != s {
			t.Fatalf("ParseCursor(%q).String() = %q", s, got)
		}
	})
}

func FuzzParsePageCursor(f *testing.F) {
	for _, s := range []string{"", PageCursor{after: Row{ID: "bafy", State: StateLost}, set: true}.String(), CursorAt(3).String(), "p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParsePageCursor(s)
		if err != nil {
			return
		}
		if got := c.String(); got != s {
			t.Fatalf("ParsePageCursor(%q).String() = %q", s, got)
		}
	})
}
