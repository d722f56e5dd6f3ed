package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadFrame: the framing of every Cairn stream. Reading frames never
// panics nor returns one over the limit, never reads past the input, and
// the frames read, written again, read back the same.
func FuzzReadFrame(f *testing.F) {
	const limit = 64
	var valid bytes.Buffer
	for _, m := range [][]byte{[]byte("summary"), {}, bytes.Repeat([]byte{7}, limit)} {
		if err := WriteFrame(&valid, m); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(valid.Bytes())
	f.Add([]byte{limit + 1})                                                  // one byte over the limit
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}) // a uvarint that overflows
	f.Add([]byte{5, 'a', 'b'})                                                // cut short
	f.Fuzz(func(t *testing.T, b []byte) {
		frames := readAll(t, b, limit)
		var again bytes.Buffer
		for _, fr := range frames {
			if err := WriteFrame(&again, fr); err != nil {
				t.Fatal(err)
			}
		}
		back := readAll(t, again.Bytes(), limit)
		if len(back) != len(frames) {
			t.Fatalf("%d frames written again read back as %d", len(frames), len(back))
		}
		for i := range back {
			if !bytes.Equal(back[i], frames[i]) {
				t.Fatalf("frame %d = %x, read back as %x", i, frames[i], back[i])
			}
		}
	})
}

// readAll reads frames from b until the first error, checking each.
func readAll(t *testing.T, b []byte, limit int) [][]byte {
	src := bytes.NewReader(b)
	r := bufio.NewReader(src)
	var frames [][]byte
	used := 0
	for {
		fr, err := ReadFrame(r, limit)
		if err != nil {
			if errors.Is(err, io.EOF) && fr != nil {
				t.Fatalf("a frame with io.EOF: %x", fr)
			}
			return frames
		}
		if len(fr) > limit {
			t.Fatalf("frame of %d bytes over the limit %d", len(fr), limit)
		}
		used += len(fr) + 1
		if used > len(b) {
			t.Fatalf("read %d bytes of frames and prefixes from %d bytes of input", used, len(b))
		}
		frames = append(frames, fr)
	}
}
