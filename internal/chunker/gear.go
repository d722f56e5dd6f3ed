package chunker

import (
	"crypto/sha256"
	"encoding/binary"
)

// gearSeed names the gear table. Changing it changes every cut point.
const gearSeed = "cairn chunker gear table v1"

// gear maps each byte value to a pseudo-random 64-bit word. It is derived
// from SHA-256 so that it is fixed forever and reproducible anywhere.
var gear = deriveGear()

func deriveGear() [256]uint64 {
	var table [256]uint64
	for i := range table {
		sum := sha256.Sum256(append([]byte(gearSeed), byte(i)))
		table[i] = binary.LittleEndian.Uint64(sum[:8])
	}
	return table
}
