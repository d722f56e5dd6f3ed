package chunker

import (
	"bytes"
	"slices"
	"testing"
)

func testKey(b byte) [32]byte {
	var k [32]byte
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func chunkAllWith(t *testing.T, data []byte, g *Gear) [][]byte {
	t.Helper()
	c := NewWithGear(bytes.NewReader(data), DefaultConfig(), g)
	var chunks [][]byte
	for {
		chunk, err := c.Next(nil)
		if err != nil {
			return chunks
		}
		chunks = append(chunks, chunk)
	}
}

// TestKeyedGearPinned pins the keyed table's derivation: it decides the
// cut points of every encrypted object, so it is part of the format.
func TestKeyedGearPinned(t *testing.T) {
	g := NewGear(testKey(1))
	if g[0] != goldenKeyedGear0 || g[255] != goldenKeyedGear255 {
		t.Errorf("NewGear(testKey(1))[0], [255] = %#x, %#x, want %#x, %#x", g[0], g[255], uint64(goldenKeyedGear0), uint64(goldenKeyedGear255))
	}
}

func TestKeyedCutPoints(t *testing.T) {
	data := pseudoRandom(16<<20, 10)
	public := cutPoints(chunkAllWith(t, data, nil))
	tests := []struct {
		name     string
		g        *Gear
		wantSame bool // same cut points as the public table
	}{
		{"nil is the public table", nil, true},
		{"public table", &gear, true},
		{"key 1", NewGear(testKey(1)), false},
		{"key 2", NewGear(testKey(2)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cutPoints(chunkAllWith(t, data, tt.g))
			if same := slices.Equal(got, public); same != tt.wantSame {
				t.Errorf("same cut points as the public table = %v, want %v", same, tt.wantSame)
			}
			if again := cutPoints(chunkAllWith(t, data, tt.g)); !slices.Equal(again, got) {
				t.Errorf("a second run with the same table cut elsewhere")
			}
		})
	}
	one, two := cutPoints(chunkAllWith(t, data, NewGear(testKey(1)))), cutPoints(chunkAllWith(t, data, NewGear(testKey(2))))
	if shared := sharedCuts(one, two); shared > 1 { // the end of the stream is always shared
		t.Errorf("two keys share %d of %d cut points, want only the end", shared, len(one))
	}
}

func sharedCuts(a, b []int) int {
	n := 0
	for _, c := range a {
		if slices.Contains(b, c) {
			n++
		}
	}
	return n
}

// TestKeyedInsertShiftsOnlyFirstCuts checks that a keyed table keeps the
// dedup property of content-defined chunking.
func TestKeyedInsertShiftsOnlyFirstCuts(t *testing.T) {
	g := NewGear(testKey(3))
	data := pseudoRandom(16<<20, 6)
	before := chunkSet(chunkAllWith(t, data, g))
	after := chunkAllWith(t, append([]byte("inserted  bytes"), data...), g)
	if changed := newChunks(before, after); changed > 2 {
		t.Errorf("%d of %d chunks changed after a 15-byte insert, want at most 2", changed, len(after))
	}
}

func BenchmarkChunkerKeyed(b *testing.B) {
	data := pseudoRandom(64<<20, 9)
	cfg := DefaultConfig()
	g := NewGear(testKey(1))
	buf := make([]byte, cfg.Max)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c := NewWithGear(bytes.NewReader(data), cfg, g)
		for {
			if _, err := c.Next(buf); err != nil {
				break
			}
		}
	}
}
