package object

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"lukechampine.com/blake3"
)

// KeySize is the size of every key in the format: the content secret,
// chunk keys, the manifest key and manifest piece keys.
const KeySize = 32

// ContentSecret is the owner's key material for content. Chunk keys and
// manifest keys are derived from it; it never leaves the owner's node and
// never appears in an object or a capability.
type ContentSecret [KeySize]byte

// Key is a 32-byte symmetric key (a chunk key or a manifest key).
type Key [KeySize]byte

// Domain-separation strings. Changing any of them changes every object.
// Chunk and manifest keys are only derived when writing, so they carry
// the version written: a version-2 block pads what a version-1 block of
// the same bytes did not, and a new key keeps each key sealing exactly one
// plaintext. Readers take keys from the capability and the manifest.
const (
	domainChunkKey     = "cairn chunk key v2"
	domainManifestKey  = "cairn manifest key v2"
	domainPieceKey     = "cairn manifest piece key v1"
	domainNonce        = "cairn nonce v1"
	sealOverhead       = chacha20poly1305.Overhead
	keyedHashOutputLen = KeySize
)

// chunkKey derives the convergent key of one plaintext chunk: the same
// owner and the same bytes give the same key, and without the secret the
// key cannot be computed from the bytes.
func chunkKey(secret *ContentSecret, plaintext []byte) Key {
	return keyedHash(secret[:], domainChunkKey, plaintext)
}

// manifestKey derives the convergent key of a serialized manifest.
func manifestKey(secret *ContentSecret, manifest []byte) Key {
	return keyedHash(secret[:], domainManifestKey, manifest)
}

// pieceKey derives the key of manifest piece index from the manifest key.
func pieceKey(mk Key, index int) Key {
	var idx [8]byte
	binary.BigEndian.PutUint64(idx[:], uint64(index))
	return keyedHash(mk[:], domainPieceKey, idx[:])
}

// keyedHash is BLAKE3 in keyed mode over domain || data.
func keyedHash(key []byte, domain string, data []byte) Key {
	h := blake3.New(keyedHashOutputLen, key)
	_, _ = h.Write([]byte(domain))
	_, _ = h.Write(data)
	var out Key
	h.Sum(out[:0])
	return out
}

// nonce derives the XChaCha20 nonce from the key. Every key in the format
// seals exactly one plaintext (keys are derived from the plaintext or from
// a unique manifest and piece index), so a nonce fixed per key is never
// reused with a different message.
func nonce(k Key) [chacha20poly1305.NonceSizeX]byte {
	full := keyedHash(k[:], domainNonce, nil)
	var n [chacha20poly1305.NonceSizeX]byte
	copy(n[:], full[:])
	return n
}

func newAEAD(k Key) cipher.AEAD {
	aead, err := chacha20poly1305.NewX(k[:])
	if err != nil {
		panic(fmt.Sprintf("xchacha20poly1305 with a %d-byte key: %v", len(k), err))
	}
	return aead
}

// open decrypts ciphertext sealed under k, appending to dst.
func open(dst []byte, k Key, ciphertext []byte) ([]byte, error) {
	n := nonce(k)
	return newAEAD(k).Open(dst, n[:], ciphertext, nil)
}
