package chunker

import (
	"crypto/sha256"
	"encoding/binary"

	"lukechampine.com/blake3"
)

// Gear is a gear table: one pseudo-random 64-bit word per byte value. The
// table decides every cut point, so whoever knows it can predict the chunk
// sizes of a known file.
type Gear [256]uint64

// gearSeed names the public gear table. Changing it changes every cut point.
const gearSeed = "cairn chunker gear table v1"

// keyedGearDomain names keyed gear tables (see NewGear).
const keyedGearDomain = "cairn chunker gear v2"

// gear is the public table New uses. It is derived from SHA-256 so that it
// is fixed forever and reproducible anywhere.
var gear = deriveGear()

func deriveGear() Gear {
	var table Gear
	for i := range table {
		sum := sha256.Sum256(append([]byte(gearSeed), byte(i)))
		table[i] = binary.LittleEndian.Uint64(sum[:8])
	}
	return table
}

// NewGear derives a secret gear table from key: the 2048-byte BLAKE3
// output, keyed with key, of the domain string "cairn chunker gear v2",
// read as 256 little-endian words. Chunking with it places cut points
// that nobody without key can predict (as Borg's chunker seed or restic's
// per-repository polynomial do), while the same key and bytes still give
// the same chunks, so deduplication under one key keeps working.
func NewGear(key [32]byte) *Gear {
	h := blake3.New(32, key[:])
	_, _ = h.Write([]byte(keyedGearDomain))
	var raw [len(Gear{}) * 8]byte
	_, _ = h.XOF().Read(raw[:])
	g := new(Gear)
	for i := range g {
		g[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	return g
}
