package chunker

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"
)

// pseudoRandom returns n reproducible bytes; the golden test depends on it.
func pseudoRandom(n int, seed uint64) []byte {
	src := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'c', 'a', 'i', 'r', 'n'})
	data := make([]byte, n)
	_, _ = src.Read(data)
	return data
}

func chunkAll(t *testing.T, r io.Reader, cfg Config) [][]byte {
	t.Helper()
	c := New(r, cfg)
	var chunks [][]byte
	for {
		chunk, err := c.Next(nil)
		if errors.Is(err, io.EOF) {
			return chunks
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		chunks = append(chunks, chunk)
	}
}

func cutPoints(chunks [][]byte) []int {
	var cuts []int
	off := 0
	for _, c := range chunks {
		off += len(c)
		cuts = append(cuts, off)
	}
	return cuts
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error, "" for valid
	}{
		{"default", DefaultConfig(), ""},
		{"small", Config{Min: 64, Avg: 256, Max: 1024}, ""},
		{"min too small", Config{Min: 8, Avg: 256, Max: 1024}, "chunker.min"},
		{"avg not power of two", Config{Min: 64, Avg: 300, Max: 1024}, "chunker.avg"},
		{"avg below min", Config{Min: 512, Avg: 256, Max: 1024}, "chunker.avg"},
		{"max below avg", Config{Min: 64, Avg: 256, Max: 256}, "chunker.max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tt.want == "") != (err == nil) || !bytes.Contains([]byte(got), []byte(tt.want)) {
				t.Errorf("Validate() = %q, want error containing %q", got, tt.want)
			}
		})
	}
}

func TestBoundsAndReassembly(t *testing.T) {
	cfg := Config{Min: 2 << 10, Avg: 8 << 10, Max: 16 << 10}
	tests := []struct {
		name string
		data []byte
	}{
		{"random", pseudoRandom(1<<20, 1)},
		{"zeros", make([]byte, 200<<10)},
		{"exactly max", pseudoRandom(cfg.Max, 2)},
		{"max plus one", pseudoRandom(cfg.Max+1, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := chunkAll(t, iotest.HalfReader(bytes.NewReader(tt.data)), cfg)
			for i, c := range chunks {
				last := i == len(chunks)-1
				if len(c) > cfg.Max || (!last && len(c) < cfg.Min) || len(c) == 0 {
					t.Errorf("chunk %d of %d has %d bytes, want %d..%d", i, len(chunks), len(c), cfg.Min, cfg.Max)
				}
			}
			if got := bytes.Join(chunks, nil); !bytes.Equal(got, tt.data) {
				t.Errorf("reassembled %d bytes, want the %d input bytes", len(got), len(tt.data))
			}
		})
	}
}

func TestShortInputs(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name string
		n    int
		want int // chunks
	}{
		{"empty", 0, 0},
		{"one byte", 1, 1},
		{"below min", cfg.Min - 1, 1},
		{"exactly min", cfg.Min, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := chunkAll(t, bytes.NewReader(pseudoRandom(tt.n, 4)), cfg)
			if len(chunks) != tt.want {
				t.Errorf("got %d chunks, want %d", len(chunks), tt.want)
			}
		})
	}
}

func TestAverageSize(t *testing.T) {
	cfg := DefaultConfig()
	data := pseudoRandom(64<<20, 5)
	chunks := chunkAll(t, bytes.NewReader(data), cfg)
	avg := len(data) / len(chunks)
	if avg < cfg.Avg/2 || avg > cfg.Avg*3/2 {
		t.Errorf("average chunk size %d, want about %d", avg, cfg.Avg)
	}
}

// TestInsertShiftsOnlyFirstCuts checks the dedup property: an edit near
// the start changes the first chunk or two, and every later chunk is the
// same bytes as before.
func TestInsertShiftsOnlyFirstCuts(t *testing.T) {
	cfg := DefaultConfig()
	data := pseudoRandom(16<<20, 6)
	edited := append([]byte("inserted  bytes"), data...)
	before := chunkSet(chunkAll(t, bytes.NewReader(data), cfg))
	after := chunkAll(t, bytes.NewReader(edited), cfg)
	if changed := newChunks(before, after); changed > 2 {
		t.Errorf("%d of %d chunks changed after a 15-byte insert, want at most 2", changed, len(after))
	}
}

// newChunks counts the chunks of after that are not in before.
func newChunks(before map[string]bool, after [][]byte) int {
	n := 0
	for _, c := range after {
		if !before[string(c)] {
			n++
		}
	}
	return n
}

func chunkSet(chunks [][]byte) map[string]bool {
	set := make(map[string]bool, len(chunks))
	for _, c := range chunks {
		set[string(c)] = true
	}
	return set
}

// TestGoldenCutPoints pins the cut points forever: they decide which blocks
// an object is stored as, so any change breaks deduplication against
// everything stored before. Do not update the wanted values; if this fails,
// the chunker changed and must be fixed.
func TestGoldenCutPoints(t *testing.T) {
	data := pseudoRandom(8<<20, 7)
	got := cutPoints(chunkAll(t, bytes.NewReader(data), DefaultConfig()))
	want := goldenCuts
	if len(got) != len(want) {
		t.Fatalf("got %d cut points %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cut %d at %d, want %d", i, got[i], want[i])
		}
	}
}

// TestCutPointsIgnoreReads checks that how the stream arrives (a byte
// at a time, so the read-ahead grows from its first size) moves no cut.
func TestCutPointsIgnoreReads(t *testing.T) {
	data := pseudoRandom(3<<20, 7)
	want := cutPoints(chunkAll(t, bytes.NewReader(data), DefaultConfig()))
	got := cutPoints(chunkAll(t, iotest.OneByteReader(bytes.NewReader(data)), DefaultConfig()))
	if !slices.Equal(got, want) {
		t.Errorf("one byte at a time: cuts %v, want %v", got, want)
	}
}

// TestSizeThenNext checks that Size announces what Next returns, however
// often it is asked, and that a small stream never grows the read-ahead.
func TestSizeThenNext(t *testing.T) {
	c := New(bytes.NewReader(pseudoRandom(1000, 3)), DefaultConfig())
	for range 2 {
		if n, err := c.Size(); n != 1000 || err != nil {
			t.Fatalf("Size() = %d, %v; want 1000, nil", n, err)
		}
	}
	if chunk, err := c.Next(nil); len(chunk) != 1000 || err != nil {
		t.Fatalf("Next() = %d bytes, %v; want 1000, nil", len(chunk), err)
	}
	if _, err := c.Size(); !errors.Is(err, io.EOF) {
		t.Errorf("Size() at the end: %v, want io.EOF", err)
	}
	if len(c.buf) > firstRead {
		t.Errorf("read-ahead of %d bytes for a 1000-byte stream, want at most %d", len(c.buf), firstRead)
	}
}

func TestGearTablePinned(t *testing.T) {
	if gear[0] != goldenGear0 || gear[255] != goldenGear255 {
		t.Errorf("gear[0], gear[255] = %#x, %#x, want %#x, %#x", gear[0], gear[255], uint64(goldenGear0), uint64(goldenGear255))
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	c := New(io.MultiReader(bytes.NewReader(make([]byte, 10)), iotest.ErrReader(boom)), DefaultConfig())
	if _, err := c.Next(nil); !errors.Is(err, boom) {
		t.Errorf("Next() error = %v, want %v", err, boom)
	}
}

func TestBufferReuse(t *testing.T) {
	cfg := DefaultConfig()
	buf := make([]byte, cfg.Max)
	c := New(bytes.NewReader(pseudoRandom(4<<20, 8)), cfg)
	for {
		chunk, err := c.Next(buf)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if &chunk[0] != &buf[0] {
			t.Fatalf("Next allocated although buf had capacity %d for a %d-byte chunk", cap(buf), len(chunk))
		}
	}
}

func BenchmarkChunker(b *testing.B) {
	data := pseudoRandom(64<<20, 9)
	cfg := DefaultConfig()
	buf := make([]byte, cfg.Max)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c := New(bytes.NewReader(data), cfg)
		for {
			if _, err := c.Next(buf); err != nil {
				break
			}
		}
	}
}
