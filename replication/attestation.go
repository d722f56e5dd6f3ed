package replication

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits on decoded attestations; anything larger is malformed.
const (
	maxIDLen     = 512
	maxProofs    = 64
	maxTarget    = 255
	maxLeaves    = 1 << 32
	attVersion   = 2
	flagHeld     = 1 << 0
	flagPinned   = 1 << 1
	knownFlags   = flagHeld | flagPinned
	attSignLabel = "cairn/attestation/v1\x00"
)

// Errors returned for rejected attestations. Each names one reason so the
// node can count rejections and log each kind once.
var (
	ErrMalformed      = errors.New("replication: malformed message")
	ErrBadSignature   = errors.New("replication: bad signature")
	ErrUnknownMember  = errors.New("replication: sender is not a member")
	ErrRevokedMember  = errors.New("replication: sender was revoked")
	ErrFutureIssuedAt = errors.New("replication: issued too far in the future")
	ErrReplay         = errors.New("replication: sequence number not newer than recorded")
)

// Attestation is a holder's signed statement about one object: whether it
// holds a copy, and what its latest challenges of the other holders gave.
//
// What the holder says of its own copy is its claim; what it says of the
// object (Target, Leaves) is only a hint that no node acts on: the
// object's target comes from the owner's Policy, and the block count from
// the node's own copy.
type Attestation struct {
	Object ObjectID
	Holder PeerID
	// Seq increases with every attestation the holder signs, over all
	// objects; the newest Seq per (object, holder) wins.
	Seq      uint64
	IssuedAt time.Time // millisecond precision on the wire
	Held     bool      // false: the holder released or lost its copy
	Pinned   bool      // the holder never releases this copy (the owner's node)
	Target   int       // the target the holder works to, 1..255 (a hint)
	Leaves   int       // number of blocks in the holder's copy (a hint)
	// Proofs are the holder's latest challenge outcomes against other
	// holders, sorted by peer. Nodes that do not hold the object learn from
	// them which copies are verified.
	Proofs    []Proof
	Signature []byte
	// Policy is the newest owner's policy the holder knows, or nil. The
	// holder's signature does not cover it: it is the owner's statement,
	// checked against the owner key the object ID commits to, and
	// whoever relays it can only pass it on or withhold it.
	Policy *Policy
}

// Proof is one challenger-side outcome carried in an attestation.
type Proof struct {
	Peer   PeerID    // the challenged holder
	At     time.Time // when the outcome was known
	Result Result
}

// Sign sets a.Signature using the holder's private key.
func (a *Attestation) Sign(priv ed25519.PrivateKey) {
	a.Signature = ed25519.Sign(priv, a.signedBytes())
}

// Verify checks the signature against the holder's public key.
func (a *Attestation) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize || len(a.Signature) != ed25519.SignatureSize {
		return ErrBadSignature
	}
	if !ed25519.Verify(pub, a.signedBytes(), a.Signature) {
		return ErrBadSignature
	}
	return nil
}

func (a *Attestation) signedBytes() []byte {
	return a.appendBody([]byte(attSignLabel))
}

// MarshalBinary returns the canonical encoding: the signed body, the
// signature, and the attached policy.
func (a *Attestation) MarshalBinary() ([]byte, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	return appendPolicy(append(a.appendBody(nil), a.Signature...), a.Policy), nil
}

func (a *Attestation) appendBody(b []byte) []byte {
	b = append(b, attVersion)
	b = appendString(b, string(a.Object))
	b = appendString(b, string(a.Holder))
	b = binary.AppendUvarint(b, a.Seq)
	b = binary.AppendVarint(b, a.IssuedAt.UnixMilli())
	b = append(b, a.flags())
	b = binary.AppendUvarint(b, uint64(a.Target))
	b = binary.AppendUvarint(b, uint64(a.Leaves))
	b = binary.AppendUvarint(b, uint64(len(a.Proofs)))
	for _, p := range a.Proofs {
		b = appendString(b, string(p.Peer))
		b = binary.AppendVarint(b, p.At.UnixMilli())
		b = append(b, byte(p.Result))
	}
	return b
}

func (a *Attestation) flags() byte {
	var f byte
	if a.Held {
		f |= flagHeld
	}
	if a.Pinned {
		f |= flagPinned
	}
	return f
}

// check reports whether a can be encoded canonically.
func (a *Attestation) check() error {
	switch {
	case len(a.Object) == 0 || len(a.Object) > maxIDLen:
		return fmt.Errorf("%w: object id length %d", ErrMalformed, len(a.Object))
	case len(a.Holder) == 0 || len(a.Holder) > maxIDLen:
		return fmt.Errorf("%w: holder id length %d", ErrMalformed, len(a.Holder))
	case a.Target < 1 || a.Target > maxTarget:
		return fmt.Errorf("%w: target %d", ErrMalformed, a.Target)
	case a.Leaves < 1 || a.Leaves >= maxLeaves:
		return fmt.Errorf("%w: leaves %d", ErrMalformed, a.Leaves)
	case len(a.Signature) != ed25519.SignatureSize:
		return fmt.Errorf("%w: signature length %d", ErrMalformed, len(a.Signature))
	}
	if a.Policy != nil {
		if a.Policy.Object != a.Object {
			return fmt.Errorf("%w: policy of %s attached to %s", ErrMalformed, a.Policy.Object, a.Object)
		}
		if err := a.Policy.check(); err != nil {
			return err
		}
	}
	return checkProofs(a.Holder, a.Proofs)
}

func checkProofs(holder PeerID, proofs []Proof) error {
	if len(proofs) > maxProofs {
		return fmt.Errorf("%w: %d proofs", ErrMalformed, len(proofs))
	}
	for i, p := range proofs {
		if len(p.Peer) == 0 || len(p.Peer) > maxIDLen || p.Peer == holder {
			return fmt.Errorf("%w: proof peer %q", ErrMalformed, p.Peer)
		}
		if p.Result < ResultPass || p.Result > ResultRefused {
			return fmt.Errorf("%w: proof result %d", ErrMalformed, p.Result)
		}
		if i > 0 && strings.Compare(string(proofs[i-1].Peer), string(p.Peer)) >= 0 {
			return fmt.Errorf("%w: proofs not sorted by peer", ErrMalformed)
		}
	}
	return nil
}

// DecodeAttestation parses untrusted bytes. It accepts only the canonical
// encoding, so equal attestations always have equal bytes. It does not
// check the signature; Core.Receive does.
func DecodeAttestation(data []byte) (Attestation, error) {
	r := reader{buf: data}
	var a Attestation
	if v := r.byte(); v != attVersion {
		return a, fmt.Errorf("%w: attestation version %d", ErrMalformed, v)
	}
	a.Object = ObjectID(r.string())
	a.Holder = PeerID(r.string())
	a.Seq = r.uvarint()
	a.IssuedAt = r.time()
	f := r.byte()
	a.Held, a.Pinned = f&flagHeld != 0, f&flagPinned != 0
	a.Target = r.int(maxTarget)
	a.Leaves = r.int(maxLeaves - 1)
	a.Proofs = r.proofs()
	a.Signature = r.bytes(ed25519.SignatureSize)
	a.Policy = r.policy(a.Object)
	r.end()
	if r.err != nil {
		return Attestation{}, r.err
	}
	return a, canonical(&a, data, f)
}

// canonical rejects encodings that would not re-encode to the same bytes.
func canonical(a *Attestation, data []byte, flags byte) error {
	if flags&^knownFlags != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrMalformed, flags)
	}
	again, err := a.MarshalBinary()
	if err != nil {
		return err
	}
	if !bytes.Equal(again, data) {
		return fmt.Errorf("%w: not canonical", ErrMalformed)
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes the primitives of the wire format; the first error sticks
// and every later read returns a zero value.
type reader struct {
	buf []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated or invalid %s", ErrMalformed, what)
	}
	r.buf = nil
}

func (r *reader) byte() byte {
	if len(r.buf) < 1 {
		r.fail("byte")
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail("uvarint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) time() time.Time {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail("time")
		return time.Time{}
	}
	r.buf = r.buf[n:]
	return time.UnixMilli(v).UTC()
}

func (r *reader) int(limit uint64) int {
	v := r.uvarint()
	if v > limit {
		r.fail("integer")
		return 0
	}
	return int(v)
}

func (r *reader) string() string {
	n := r.int(maxIDLen)
	if uint64(len(r.buf)) < uint64(n) {
		r.fail("string")
		return ""
	}
	s := string(r.buf[:n])
	r.buf = r.buf[n:]
	return s
}

func (r *reader) bytes(n int) []byte {
	if len(r.buf) < n {
		r.fail("bytes")
		return nil
	}
	b := slices.Clone(r.buf[:n])
	r.buf = r.buf[n:]
	return b
}

// rest reads exactly n bytes that must end the input.
func (r *reader) rest(n int) []byte {
	b := r.bytes(n)
	r.end()
	return b
}

// end fails unless the input is used up.
func (r *reader) end() {
	if r.err == nil && len(r.buf) != 0 {
		r.fail("trailing data")
	}
}

func (r *reader) proofs() []Proof {
	n := r.int(maxProofs)
	if n == 0 {
		return nil
	}
	out := make([]Proof, 0, n)
	for range n {
		p := Proof{Peer: PeerID(r.string()), At: r.time(), Result: Result(r.byte())}
		if r.err != nil {
			return nil
		}
		out = append(out, p)
	}
	return out
}
