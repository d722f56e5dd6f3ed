package object

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Padding (format version 2, encrypted objects only). Each chunk and each
// manifest piece is padded with zeros inside the ciphertext, so a sealed
// block's size on a holder's disk is a Padmé size class
// (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
// Communication with PURBs", 2019) rather than its plaintext size + 16.
//
//	sealed chunk = seal(chunk || zeros)                       to sealedChunkSize(len(chunk))
//	sealed piece = seal(uint32be(len(piece)) || piece || zeros) to padme(4 + len(piece) + 16)
//
// A chunk's plaintext length is in the manifest; a manifest piece carries
// its own. Readers check that a block has exactly the padded size its
// length implies and that the padding is zeros, so each length has one
// encoding.

// padme rounds n up so that only its top bits are set: for
// 2^e <= n < 2^(e+1) it clears the low e - floor(log2 e) - 1 bits
// (rounding up). The overhead is below 2^-(floor(log2 e)+1): under
// 12.5 % from 16 bytes up, 6.25 % from 256 bytes, 3.125 % from 64 KiB;
// each power-of-two range holds at most 2^(floor(log2 e)+1) sizes.
func padme(n int) int {
	if n < 2 {
		return n
	}
	e := bits.Len(uint(n)) - 1
	low := e - bits.Len(uint(e))
	mask := 1<<low - 1
	return (n + mask) &^ mask
}

// maxSealedChunk is the largest sealed chunk, padded or not, and stays
// under bitswap's 2 MiB block limit.
const maxSealedChunk = MaxChunkSize + sealOverhead

// sealedChunkSize is the size of the sealed block of an n-byte chunk in
// an encrypted version-2 object: its Padmé class, capped at
// maxSealedChunk (the top class of the largest allowed chunks).
func sealedChunkSize(n int) int {
	return min(padme(n+sealOverhead), maxSealedChunk)
}

// pieceLengthSize is the size of a manifest piece's length prefix.
const pieceLengthSize = 4

// sealedPieceSize is the size of a sealed manifest piece of n bytes.
func sealedPieceSize(n int) int {
	return padme(pieceLengthSize + n + sealOverhead)
}

// sealChunk pads a chunk to its size class and seals it under k into a
// new slice. When chunk has the capacity, it is padded in place (its
// bytes beyond len are overwritten) to spare copying it.
func sealChunk(k Key, chunk []byte) []byte {
	sealed := sealedChunkSize(len(chunk))
	padded := sealed - sealOverhead
	if cap(chunk) < padded {
		buf := make([]byte, sealed)
		copy(buf, chunk)
		return sealInPlace(k, buf)
	}
	plain := chunk[:padded]
	clear(plain[len(chunk):])
	n := nonce(k)
	return newAEAD(k).Seal(make([]byte, 0, sealed), n[:], plain, nil)
}

// sealPiece frames a manifest piece with its length, pads it to its size
// class and seals it under k.
func sealPiece(k Key, piece []byte) []byte {
	buf := make([]byte, sealedPieceSize(len(piece)))
	binary.BigEndian.PutUint32(buf, uint32(len(piece)))
	copy(buf[pieceLengthSize:], piece)
	return sealInPlace(k, buf)
}

// sealInPlace seals buf[:len(buf)-sealOverhead] under k into buf.
func sealInPlace(k Key, buf []byte) []byte {
	n := nonce(k)
	return newAEAD(k).Seal(buf[:0], n[:], buf[:len(buf)-sealOverhead], nil)
}

// unpadChunk checks that opened, the opened block of a chunk the manifest
// says has size bytes, has exactly that chunk's padded length and zero
// padding, and returns the chunk.
func unpadChunk(opened []byte, size int) ([]byte, error) {
	if want := sealedChunkSize(size) - sealOverhead; len(opened) != want {
		return nil, fmt.Errorf("opens to %d bytes, a %d-byte chunk pads to %d", len(opened), size, want)
	}
	if !allZero(opened[size:]) {
		return nil, fmt.Errorf("padding after the %d-byte chunk is not zeros", size)
	}
	return opened[:size], nil
}

// unpadPiece reads the length prefix of an opened manifest piece, checks
// the padding and returns the piece.
func unpadPiece(opened []byte) ([]byte, error) {
	if len(opened) < pieceLengthSize {
		return nil, fmt.Errorf("%d bytes is too short for a length", len(opened))
	}
	n := binary.BigEndian.Uint32(opened)
	if n > manifestPieceSize {
		return nil, fmt.Errorf("length %d exceeds the %d-byte piece size", n, manifestPieceSize)
	}
	if want := sealedPieceSize(int(n)) - sealOverhead; len(opened) != want {
		return nil, fmt.Errorf("opens to %d bytes, a %d-byte piece pads to %d", len(opened), n, want)
	}
	body := opened[pieceLengthSize:]
	if !allZero(body[n:]) {
		return nil, fmt.Errorf("padding after the %d-byte piece is not zeros", n)
	}
	return body[:n], nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
