package wire

import (
	"errors"
	"testing"
)

var errBad = errors.New("bad")

func TestReadsAndStickyFailure(t *testing.T) {
	b := AppendText([]byte{7, 0, 1, 0, 0, 0, 2}, "hi")
	r := NewReader(b, errBad)
	if r.U8("a") != 7 || r.U16("b") != 1 || r.U32("c") != 2 || r.Text(1, 5, "d") != "hi" {
		t.Fatal("fields read wrong")
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	r.U64("past the end")
	if !errors.Is(r.Err(), errBad) {
		t.Fatalf("reading past the end: %v, want the caller's sentinel", r.Err())
	}
	if r.U8("after") != 0 {
		t.Error("a read after a failure returned data")
	}
}

func TestTextBoundsAndTrailingBytes(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		min, max int
	}{
		{"too long", AppendText(nil, "abcdef"), 0, 3},
		{"too short", AppendText(nil, ""), 1, 3},
		{"length beyond input", []byte{0, 9, 'a'}, 0, 20},
		{"trailing", append(AppendText(nil, "ab"), 0), 0, 3},
	}
	for _, tt := range tests {
		r := NewReader(tt.in, errBad)
		r.Text(tt.min, tt.max, "text")
		if err := r.Done(); !errors.Is(err, errBad) {
			t.Errorf("%s: got %v, want a failure", tt.name, err)
		}
	}
}
