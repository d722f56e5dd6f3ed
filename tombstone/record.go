package tombstone

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// record is the stored form of one tombstone: the object and kind are
// implied by where it is stored. It is immutable once built; compaction
// swaps in a new record. About 130 bytes plus the reason text.
type record struct {
	version      uint64
	issuedAt     int64 // unix nanoseconds
	fp           uint64
	sig          [ed25519.SignatureSize]byte
	signer       string // interned public key bytes
	reason       string
	reasonDigest *[sha256.Size]byte
	deleted      bool
}

// newRecord converts a structurally valid tombstone.
func newRecord(t Tombstone, intern func(string) string) *record {
	r := &record{
		version:  t.Version,
		issuedAt: t.IssuedAt.UnixNano(),
		signer:   intern(string(t.Signer)),
		reason:   t.Reason,
		deleted:  t.Deleted,
	}
	copy(r.sig[:], t.Signature)
	if t.ReasonDigest != nil {
		r.reasonDigest = (*[sha256.Size]byte)(bytes.Clone(t.ReasonDigest))
	}
	r.fp = fingerprint(&t)
	return r
}

// fingerprint identifies a tombstone's content: equal for the full and the
// compacted form, different (with overwhelming probability) otherwise.
func fingerprint(t *Tombstone) uint64 {
	h := sha256.New()
	h.Write(t.signingMessage())
	h.Write(t.Signature)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

func (r *record) tombstone(object string, k Kind) Tombstone {
	t := Tombstone{
		Object:    object,
		Version:   r.version,
		Deleted:   r.deleted,
		Kind:      k,
		Reason:    r.reason,
		IssuedAt:  time.Unix(0, r.issuedAt).UTC(),
		Signer:    ed25519.PublicKey(r.signer),
		Signature: bytes.Clone(r.sig[:]),
	}
	if r.reasonDigest != nil {
		t.ReasonDigest = bytes.Clone(r.reasonDigest[:])
	}
	return t
}

// beats is the total order that makes every replica pick the same winner
// whatever the arrival order: higher version; at equal versions a deletion
// beats a restore (erring towards deletion); then the larger signature;
// then the larger fingerprint (only reachable with unverified input).
func (r *record) beats(o *record) bool {
	if r.version != o.version {
		return r.version > o.version
	}
	if r.deleted != o.deleted {
		return r.deleted
	}
	if c := bytes.Compare(r.sig[:], o.sig[:]); c != 0 {
		return c > 0
	}
	return r.fp > o.fp
}

// compacted returns a copy without the reason text, keeping its digest.
func (r *record) compacted() *record {
	if r.reason == "" {
		return r
	}
	c := *r
	sum := sha256.Sum256([]byte(r.reason))
	c.reason, c.reasonDigest = "", &sum
	return &c
}

func (r *record) issued() time.Time {
	return time.Unix(0, r.issuedAt).UTC()
}
