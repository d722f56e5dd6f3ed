package tombstone

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cairn-fed/cairn/internal/wire"
)

// Kind says who issued a tombstone, and so which key must sign it.
type Kind uint8

const (
	// KindOwner is issued by the object's owner (cairn rm, cairn undelete).
	KindOwner Kind = 1
	// KindTakedown is issued by the federation authority and carries a reason.
	KindTakedown Kind = 2
)

// String returns "owner" or "takedown".
func (k Kind) String() string {
	switch k {
	case KindOwner:
		return "owner"
	case KindTakedown:
		return "takedown"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Reason encodings on the wire.
const (
	reasonNone   = 0
	reasonText   = 1
	reasonDigest = 2
)

// Tombstone is a signed statement that an object is deleted (Deleted true)
// or restored (Deleted false). Within one object and Kind, the highest
// Version wins.
type Tombstone struct {
	Object  string // the object ID (CID string)
	Version uint64 // starts at 1, grows by one per delete or undelete
	Deleted bool   // true deletes, false restores
	Kind    Kind
	// Reason is the takedown reason shown to users; empty for owners.
	Reason string
	// ReasonDigest is SHA-256 of Reason when the text has been dropped by
	// compaction; nil otherwise. At most one of Reason and ReasonDigest is
	// set. The signature covers the digest, so a compacted tombstone still
	// verifies.
	ReasonDigest []byte
	IssuedAt     time.Time
	Signer       ed25519.PublicKey
	Signature    []byte
}

// Sign fills in Signer and Signature with priv. IssuedAt must already be
// set; it is normalised to UTC nanoseconds so that it survives encoding.
func (t *Tombstone) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("sign tombstone: private key has %d bytes: %w", len(priv), ErrMalformed)
	}
	t.Signer = priv.Public().(ed25519.PublicKey)
	t.Signature = make([]byte, ed25519.SignatureSize)
	if err := t.checkStructure(); err != nil {
		return fmt.Errorf("sign tombstone: %w", err)
	}
	t.IssuedAt = time.Unix(0, t.IssuedAt.UnixNano()).UTC()
	t.Signature = ed25519.Sign(priv, t.signingMessage())
	return nil
}

// checkStructure applies the rules every tombstone must meet whoever signed it.
func (t *Tombstone) checkStructure() error {
	switch {
	case !validID(t.Object, MaxObjectLen):
		return fmt.Errorf("object id: %w", ErrMalformed)
	case t.Version == 0:
		return fmt.Errorf("version 0: %w", ErrMalformed)
	case t.Kind != KindOwner && t.Kind != KindTakedown:
		return fmt.Errorf("kind %d: %w", t.Kind, ErrMalformed)
	case t.Kind == KindOwner && (t.Reason != "" || t.ReasonDigest != nil):
		return fmt.Errorf("owner tombstone with a reason: %w", ErrMalformed)
	case !validReason(t.Reason) || (t.ReasonDigest != nil && (t.Reason != "" || len(t.ReasonDigest) != sha256.Size)):
		return fmt.Errorf("reason: %w", ErrMalformed)
	case !representable(t.IssuedAt):
		return fmt.Errorf("issued_at: %w", ErrMalformed)
	case len(t.Signer) != ed25519.PublicKeySize || len(t.Signature) != ed25519.SignatureSize:
		return fmt.Errorf("key or signature length: %w", ErrMalformed)
	}
	return nil
}

// Verify checks a tombstone received from anywhere. Owner tombstones must
// be signed by objectOwner (nil when the owner is not known, which yields
// ErrUnknownObject); takedowns by authority. IssuedAt may lie at most
// maxSkew after now. Version plausibility needs the set's state and is
// checked by Set.Apply.
func Verify(t Tombstone, objectOwner, authority ed25519.PublicKey, now time.Time, maxSkew time.Duration) error {
	if err := t.checkStructure(); err != nil {
		return err
	}
	if t.IssuedAt.After(now.Add(maxSkew)) {
		return fmt.Errorf("issued %s, now %s: %w", t.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339), ErrFutureTimestamp)
	}
	if err := checkSigner(t, objectOwner, authority); err != nil {
		return err
	}
	if !ed25519.Verify(t.Signer, t.signingMessage(), t.Signature) {
		return ErrBadSignature
	}
	return nil
}

func checkSigner(t Tombstone, objectOwner, authority ed25519.PublicKey) error {
	if t.Kind == KindTakedown {
		if len(authority) == 0 || !bytes.Equal(t.Signer, authority) {
			return ErrNotAuthority
		}
		return nil
	}
	if len(objectOwner) == 0 {
		return fmt.Errorf("owner of %s: %w", t.Object, ErrUnknownObject)
	}
	if !bytes.Equal(t.Signer, objectOwner) {
		return ErrNotOwner
	}
	return nil
}

// MarshalBinary returns the canonical encoding:
//
//	u8 wire version (1) | u8 type (1) | u16 len | object | u64 version |
//	u8 flags (bit 0 deleted) | u8 kind | u8 reason form (0 none, 1 text,
//	2 digest) | [u16 len | reason] or [32 digest] | u64 issued_at unix ns |
//	32 signer | 64 signature
func (t Tombstone) MarshalBinary() ([]byte, error) {
	if err := t.checkStructure(); err != nil {
		return nil, fmt.Errorf("encode tombstone: %w", err)
	}
	b := t.appendBody(make([]byte, 0, 160+len(t.Object)+len(t.Reason)), false)
	return append(b, t.Signature...), nil
}

// appendBody appends every field but the signature. For the signing
// message the reason text is replaced by its digest.
func (t *Tombstone) appendBody(b []byte, forSigning bool) []byte {
	b = append(b, wireVersion, typeTombstone)
	b = wire.AppendText(b, t.Object)
	b = binary.BigEndian.AppendUint64(b, t.Version)
	b = append(b, boolByte(t.Deleted), byte(t.Kind))
	b = t.appendReason(b, forSigning)
	b = appendTime(b, t.IssuedAt)
	return append(b, t.Signer...)
}

func (t *Tombstone) appendReason(b []byte, forSigning bool) []byte {
	switch {
	case t.Reason != "" && forSigning:
		sum := sha256.Sum256([]byte(t.Reason))
		return append(append(b, reasonDigest), sum[:]...)
	case t.Reason != "":
		return wire.AppendText(append(b, reasonText), t.Reason)
	case t.ReasonDigest != nil:
		return append(append(b, reasonDigest), t.ReasonDigest...)
	}
	return append(b, reasonNone)
}

// signingMessage is what Sign signs: a domain tag and the body with the
// reason as a digest, so that compaction keeps tombstones verifiable.
func (t *Tombstone) signingMessage() []byte {
	return t.appendBody([]byte("cairn tombstone v1\x00"), true)
}

// Decode parses a tombstone from untrusted bytes. It never panics, copies
// at most MaxObjectLen+MaxReasonLen+96 bytes, and accepts only the
// canonical encoding. It checks structure, not signatures: call Verify.
func Decode(b []byte) (Tombstone, error) {
	r := newReader(b)
	r.header(typeTombstone)
	var t Tombstone
	t.Object = r.text(MaxObjectLen, "object")
	t.Version = r.U64("version")
	t.Deleted = r.flag("deleted")
	t.Kind = Kind(r.U8("kind"))
	t.Reason, t.ReasonDigest = r.reason()
	t.IssuedAt = r.timestamp("issued_at")
	t.Signer = bytes.Clone(r.Take(ed25519.PublicKeySize, "signer"))
	t.Signature = bytes.Clone(r.Take(ed25519.SignatureSize, "signature"))
	if err := r.Done(); err != nil {
		return Tombstone{}, fmt.Errorf("decode tombstone: %w", err)
	}
	if err := t.checkStructure(); err != nil {
		return Tombstone{}, fmt.Errorf("decode tombstone: %w", err)
	}
	return t, nil
}

func (r reader) flag(what string) bool {
	v := r.U8(what)
	if v > 1 {
		r.Fail(what)
	}
	return v == 1
}

func (r reader) reason() (string, []byte) {
	switch r.U8("reason form") {
	case reasonNone:
		return "", nil
	case reasonText:
		return r.text(MaxReasonLen, "reason"), nil
	case reasonDigest:
		return "", bytes.Clone(r.Take(sha256.Size, "reason digest"))
	}
	r.Fail("reason form")
	return "", nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
