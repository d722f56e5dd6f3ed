package object

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestPadme(t *testing.T) {
	tests := []struct{ n, want int }{
		{0, 0}, {1, 1}, {2, 2}, {3, 3}, {9, 10}, {16, 16}, {17, 18},
		{100, 104}, {104, 104}, {1000, 1024}, {4096, 4096}, {4097, 4352},
		{128 << 10, 128 << 10}, {128<<10 + 1, 128<<10 + 4096},
		{1<<20 + 16, 1<<20 + 32<<10}, {MaxChunkSize + sealOverhead, 2 << 20},
	}
	for _, tt := range tests {
		if got := padme(tt.n); got != tt.want {
			t.Errorf("padme(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

// TestPadmeClasses checks, over every length up to 1 MiB + 16, that padding
// never shrinks, is a fixed point, costs at most 12.5 % (6.25 % from 256
// bytes, 3.125 % from 64 KiB) and leaves at most 32 classes per octave in
// the range where chunks live.
func TestPadmeClasses(t *testing.T) {
	classes := map[int]map[int]bool{} // octave -> classes
	for n := 16; n <= 1<<20+16; n++ {
		p := padme(n)
		bound := 0.125
		switch {
		case n >= 64<<10:
			bound = 0.03125
		case n >= 256:
			bound = 0.0625
		}
		if p < n || padme(p) != p || float64(p-n)/float64(n) >= bound {
			t.Fatalf("padme(%d) = %d: want a fixed point at least n and under %.4g overhead", n, p, bound)
		}
		octave := len(strings.TrimLeft(binaryString(n), "0"))
		if classes[octave] == nil {
			classes[octave] = map[int]bool{}
		}
		classes[octave][p] = true
	}
	for octave := 18; octave <= 20; octave++ { // 128 KiB to 1 MiB chunks
		if got := len(classes[octave]); got > 33 {
			t.Errorf("octave 2^%d has %d size classes, want at most 33", octave-1, got)
		}
	}
}

func binaryString(n int) string {
	var b strings.Builder
	for i := 62; i >= 0; i-- {
		b.WriteByte('0' + byte(n>>i&1))
	}
	return b.String()
}

func TestSealedSizesStayUnderTheBlockLimit(t *testing.T) {
	for _, n := range []int{1, 1000, 128 << 10, 1 << 20, MaxChunkSize - 32<<10, MaxChunkSize} {
		if got := sealedChunkSize(n); got < n+sealOverhead || got > maxSealedChunk || got >= 2<<20 {
			t.Errorf("sealedChunkSize(%d) = %d, want %d..%d", n, got, n+sealOverhead, maxSealedChunk)
		}
	}
	if got := sealedPieceSize(manifestPieceSize); got >= 2<<20 {
		t.Errorf("a full manifest piece seals to %d bytes, over the block limit", got)
	}
}

func TestSealedChunkRoundTrip(t *testing.T) {
	k := Key{7}
	for _, n := range []int{1, 17, 4097, 300 << 10} {
		chunk := randomBytes(n, uint64(n))
		sealed := sealChunk(k, chunk)
		if len(sealed) != sealedChunkSize(n) {
			t.Fatalf("%d-byte chunk sealed to %d bytes, want %d", n, len(sealed), sealedChunkSize(n))
		}
		opened, err := open(nil, k, sealed)
		if err != nil {
			t.Fatal(err)
		}
		got, err := unpadChunk(opened, n)
		if err != nil || string(got) != string(chunk) {
			t.Errorf("unpadChunk of a %d-byte chunk: %d bytes, %v", n, len(got), err)
		}
		if _, err := unpadChunk(opened, n+1); err == nil && sealedChunkSize(n+1) != len(sealed) {
			t.Errorf("unpadChunk accepted a lying size")
		}
	}
}

func TestUnpadChunkRejects(t *testing.T) {
	padded := make([]byte, sealedChunkSize(1000)-sealOverhead)
	dirty := append([]byte(nil), padded...)
	dirty[len(dirty)-1] = 1
	tests := []struct {
		name   string
		opened []byte
		size   int
		want   string
	}{
		{"truncated", padded[:1000], 1000, "pads to"},
		{"longer than its class", append(padded, 0), 1000, "pads to"},
		{"size of another class", padded, 2000, "pads to"},
		{"padding not zeros", dirty, 1000, "not zeros"},
		{"empty", nil, 1000, "pads to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := unpadChunk(tt.opened, tt.size); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("unpadChunk: error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestUnpadPieceRejects(t *testing.T) {
	frame := func(length uint32, body int) []byte {
		b := make([]byte, pieceLengthSize+body)
		binary.BigEndian.PutUint32(b, length)
		return b
	}
	good := frame(101, sealedPieceSize(101)-sealOverhead-pieceLengthSize) // 7 bytes of padding
	dirty := append([]byte(nil), good...)
	dirty[len(dirty)-1] = 9
	tests := []struct {
		name   string
		opened []byte
		want   string // "" when accepted
	}{
		{"good", good, ""},
		{"no room for a length", []byte{0, 0, 1}, "too short"},
		{"length beyond the bytes", frame(5000, 100), "pads to"},
		{"length over the piece size", frame(manifestPieceSize+1, 100), "exceeds"},
		{"length of the wrong class", frame(10, len(good)-pieceLengthSize), "pads to"},
		{"truncated", good[:len(good)-1], "pads to"},
		{"padding not zeros", dirty, "not zeros"},
		{"max uint32 length", frame(^uint32(0), 10), "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := unpadPiece(tt.opened)
			if tt.want == "" {
				if err != nil || len(body) != 101 {
					t.Errorf("unpadPiece: %d bytes, %v; want 101 bytes", len(body), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("unpadPiece: error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestSealChunkInPlace: padding in the chunk's spare capacity, over
// whatever bytes were there, seals the same block as padding a copy.
func TestSealChunkInPlace(t *testing.T) {
	k := Key{8}
	chunk := randomBytes(5000, 3)
	roomy := append(make([]byte, 0, 8000), chunk...)
	copy(roomy[len(chunk):cap(roomy)], randomBytes(3000, 4)) // stale bytes of an earlier chunk
	if a, b := sealChunk(k, chunk), sealChunk(k, roomy); string(a) != string(b) {
		t.Errorf("sealing in place gave a different block (%d vs %d bytes)", len(b), len(a))
	}
}
