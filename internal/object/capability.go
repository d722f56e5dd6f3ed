package object

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"
)

// Capability is what opening an object takes: the root CID and, for an
// encrypted object, the manifest key. Whoever holds it can read the
// object, so it is a secret; the root CID alone is not.
type Capability struct {
	root      cid.Cid
	key       Key
	encrypted bool
}

// Capability string layout, after the "cairn1" prefix, in lowercase
// unpadded base32 (RFC 4648 alphabet):
//
//	version (1 byte) | flags (1 byte, bit 0: has key) | root CID (36 bytes,
//	CIDv1 dag-pb sha2-256) | manifest key (32 bytes, only with the flag) |
//	checksum (4 bytes: SHA-256 of "cairn capability v1" and the preceding
//	bytes)
const (
	capabilityPrefix   = "cairn1"
	capabilityVersion  = 1
	capabilityDomain   = "cairn capability v1"
	rootCIDLen         = 36
	checksumLen        = 4
	capabilityBaseLen  = 2 + rootCIDLen + checksumLen
	capabilityKeyedLen = capabilityBaseLen + KeySize
)

var capabilityEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Root returns the object ID.
func (c Capability) Root() cid.Cid { return c.root }

// Encrypted reports whether the capability carries a key; a capability of
// an unencrypted object carries none.
func (c Capability) Encrypted() bool { return c.encrypted }

// String returns the printable capability, "cairn1" and base32.
func (c Capability) String() string {
	payload := []byte{capabilityVersion, 0}
	payload = append(payload, c.root.Bytes()...)
	if c.encrypted {
		payload[1] = flagEncrypted
		payload = append(payload, c.key[:]...)
	}
	payload = append(payload, capabilityChecksum(payload)...)
	return capabilityPrefix + capabilityEncoding.EncodeToString(payload)
}

func capabilityChecksum(payload []byte) []byte {
	sum := sha256.Sum256(append([]byte(capabilityDomain), payload...))
	return sum[:checksumLen]
}

// ParseCapability parses a capability string. Surrounding white space and
// upper case are accepted. Errors wrap ErrInvalidCapability and say what
// is wrong: a missing prefix, an invalid character, truncation, extra
// characters or a checksum mismatch (a typo).
func ParseCapability(s string) (Capability, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	body, ok := strings.CutPrefix(s, capabilityPrefix)
	if !ok {
		return Capability{}, fmt.Errorf("%w: does not start with %q", ErrInvalidCapability, capabilityPrefix)
	}
	payload, err := decodeBase32(body)
	if err != nil {
		return Capability{}, err
	}
	if err := checkCapabilityLength(payload); err != nil {
		return Capability{}, err
	}
	n := len(payload) - checksumLen
	if !bytes.Equal(capabilityChecksum(payload[:n]), payload[n:]) {
		return Capability{}, fmt.Errorf("%w: checksum mismatch (a character is wrong)", ErrInvalidCapability)
	}
	return decodeCapabilityPayload(payload[:n])
}

// decodeBase32 decodes body, dropping trailing bits that do not make a
// whole byte (a truncated string is reported by the length check).
func decodeBase32(body string) ([]byte, error) {
	for i, r := range body {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz234567", r) {
			return nil, fmt.Errorf("%w: invalid character %q at position %d", ErrInvalidCapability, r, len(capabilityPrefix)+i)
		}
	}
	whole := len(body) * 5 / 8
	payload := make([]byte, capabilityEncoding.DecodedLen(len(body)))
	n, _ := capabilityEncoding.Decode(payload, []byte(body[:capabilityEncoding.EncodedLen(whole)]))
	return payload[:n], nil
}

func checkCapabilityLength(payload []byte) error {
	want := capabilityBaseLen
	if len(payload) >= 2 && payload[1]&flagEncrypted != 0 {
		want = capabilityKeyedLen
	}
	switch {
	case len(payload) < want:
		return fmt.Errorf("%w: capability is truncated", ErrInvalidCapability)
	case len(payload) > want:
		return fmt.Errorf("%w: capability has extra characters at the end", ErrInvalidCapability)
	}
	return nil
}

func decodeCapabilityPayload(p []byte) (Capability, error) {
	if p[0] != capabilityVersion {
		return Capability{}, fmt.Errorf("%w: capability version %d is not supported", ErrInvalidCapability, p[0])
	}
	if p[1]&^flagEncrypted != 0 {
		return Capability{}, fmt.Errorf("%w: unknown capability flags %#x", ErrInvalidCapability, p[1])
	}
	root, err := cid.Cast(p[2 : 2+rootCIDLen])
	if err != nil || root.Prefix() != rootPrefix {
		return Capability{}, fmt.Errorf("%w: root is not a dag-pb sha2-256 cidv1", ErrInvalidCapability)
	}
	c := Capability{root: root, encrypted: p[1] == flagEncrypted}
	copy(c.key[:], p[2+rootCIDLen:])
	return c, nil
}
