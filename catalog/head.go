package catalog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// MaxSealed bounds a head's sealed capability (a capability is about 120
// characters; the seal adds 40 bytes).
const MaxSealed = 512

// MaxClockSkew is how far in the future a head's time may be.
const MaxClockSkew = 10 * time.Minute

// Head names the latest version of one owner's catalog.
type Head struct {
	Catalog ed25519.PublicKey `json:"catalog"`
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	// Sealed is the latest version's capability, sealed so only the owner
	// opens it (see Seal).
	Sealed    []byte `json:"sealed"`
	Signature []byte `json:"sig"`
}

// Errors a head can be refused with.
var (
	ErrBadSignature = errors.New("catalog: head signature does not verify")
	ErrFuture       = errors.New("catalog: head is dated in the future")
	ErrSealed       = errors.New("catalog: the sealed capability does not open with this owner key")
)

// After reports whether h supersedes o: a higher version, or, when two
// writers of one catalog made the same version, the one whose signature
// sorts higher. Every member orders heads the same way, so they all keep
// the same one.
func (h Head) After(o Head) bool {
	return h.Seq > o.Seq || (h.Seq == o.Seq && bytes.Compare(h.Signature, o.Signature) > 0)
}

// KeyID is the hex form of a catalog key, as versions name it.
func KeyID(pub ed25519.PublicKey) string { return hex.EncodeToString(pub) }

// signingMessage binds every field but the signature, under a domain of
// its own so no other Cairn signature can pass for a head's.
func (h Head) signingMessage() []byte {
	msg := []byte("cairn catalog head v1\x00")
	msg = append(msg, h.Catalog...)
	msg = binary.BigEndian.AppendUint64(msg, h.Seq)
	msg = binary.BigEndian.AppendUint64(msg, uint64(h.Time.UnixNano()))
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(h.Sealed)))
	return append(msg, h.Sealed...)
}

// Sign signs the head with the owner's catalog key, setting Catalog.
func (h *Head) Sign(priv ed25519.PrivateKey) {
	h.Catalog = priv.Public().(ed25519.PublicKey)
	h.Time = time.Unix(0, h.Time.UnixNano()).UTC()
	h.Signature = ed25519.Sign(priv, h.signingMessage())
}

// Verify checks the head's shape and its signature by its catalog key,
// and that it is not dated after now plus MaxClockSkew.
func (h Head) Verify(now time.Time) error {
	switch {
	case len(h.Catalog) != ed25519.PublicKeySize:
		return fmt.Errorf("%w: catalog key has %d bytes", ErrMalformed, len(h.Catalog))
	case h.Seq == 0:
		return fmt.Errorf("%w: head names version 0", ErrMalformed)
	case len(h.Sealed) == 0 || len(h.Sealed) > MaxSealed:
		return fmt.Errorf("%w: sealed capability of %d bytes", ErrMalformed, len(h.Sealed))
	case len(h.Signature) != ed25519.SignatureSize:
		return fmt.Errorf("%w: signature of %d bytes", ErrMalformed, len(h.Signature))
	case !time.Unix(0, h.Time.UnixNano()).Equal(h.Time):
		// The signature covers the time in nanoseconds since 1970, which
		// wraps outside 1678-2262: another date could pass for it.
		return fmt.Errorf("%w: time %s outside what a head can sign", ErrMalformed, h.Time)
	case !ed25519.Verify(h.Catalog, h.signingMessage(), h.Signature):
		return ErrBadSignature
	case h.Time.After(now.Add(MaxClockSkew)):
		return fmt.Errorf("%w: %s", ErrFuture, h.Time.Format(time.RFC3339))
	}
	return nil
}

// sealData is the additional data of a head's seal: the catalog key and
// the version number, so a sealed capability cannot be moved to another
// head.
func sealData(catalog ed25519.PublicKey, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte("cairn catalog seal v1\x00"), catalog...), seq)
}

// Seal seals the capability of version seq of a catalog under the
// owner's seal key, with a nonce the caller draws at random.
func Seal(key [32]byte, catalog ed25519.PublicKey, seq uint64, capability string, nonce [chacha20poly1305.NonceSizeX]byte) []byte {
	aead, _ := chacha20poly1305.NewX(key[:]) // a 32-byte key never fails
	return aead.Seal(nonce[:], nonce[:], []byte(capability), sealData(catalog, seq))
}

// Open opens a head's sealed capability with the owner's seal key.
func (h Head) Open(key [32]byte) (string, error) {
	aead, _ := chacha20poly1305.NewX(key[:])
	if len(h.Sealed) < aead.NonceSize() {
		return "", fmt.Errorf("%w: truncated", ErrSealed)
	}
	plain, err := aead.Open(nil, h.Sealed[:aead.NonceSize()], h.Sealed[aead.NonceSize():], sealData(h.Catalog, h.Seq))
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}
