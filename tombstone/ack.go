package tombstone

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cairn-fed/cairn/internal/wire"
)

// Phase says how far a holder has carried out a deletion.
type Phase uint8

const (
	// PhaseApplied: the holder stopped serving, counting and repairing the object.
	PhaseApplied Phase = 1
	// PhasePurged: the holder physically removed the object's blocks.
	PhasePurged Phase = 2
)

// String returns "applied" or "purged".
func (p Phase) String() string {
	switch p {
	case PhaseApplied:
		return "applied"
	case PhasePurged:
		return "purged"
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// Ack is a holder's signed acknowledgement that it has applied (or purged)
// the tombstone of Object with the given Kind and Version. The holder's
// key is looked up from Holder by the caller; it is not carried.
type Ack struct {
	Object    string
	Kind      Kind
	Version   uint64
	Holder    string // peer ID string
	Phase     Phase
	At        time.Time
	Signature []byte
}

// Sign fills in Signature with the holder's private key. At must be set.
func (a *Ack) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("sign ack: private key has %d bytes: %w", len(priv), ErrMalformed)
	}
	a.Signature = make([]byte, ed25519.SignatureSize)
	if err := a.checkStructure(); err != nil {
		return fmt.Errorf("sign ack: %w", err)
	}
	a.At = time.Unix(0, a.At.UnixNano()).UTC()
	a.Signature = ed25519.Sign(priv, a.signingMessage())
	return nil
}

func (a *Ack) checkStructure() error {
	switch {
	case !validID(a.Object, MaxObjectLen):
		return fmt.Errorf("object id: %w", ErrMalformed)
	case a.Kind != KindOwner && a.Kind != KindTakedown:
		return fmt.Errorf("kind %d: %w", a.Kind, ErrMalformed)
	case a.Version == 0:
		return fmt.Errorf("version 0: %w", ErrMalformed)
	case !validID(a.Holder, MaxHolderLen):
		return fmt.Errorf("holder id: %w", ErrMalformed)
	case a.Phase != PhaseApplied && a.Phase != PhasePurged:
		return fmt.Errorf("phase %d: %w", a.Phase, ErrMalformed)
	case !representable(a.At):
		return fmt.Errorf("at: %w", ErrMalformed)
	case len(a.Signature) != ed25519.SignatureSize:
		return fmt.Errorf("signature length: %w", ErrMalformed)
	}
	return nil
}

// VerifyAck checks an acknowledgement against the holder's public key; At
// may lie at most maxSkew after now.
func VerifyAck(a Ack, holderKey ed25519.PublicKey, now time.Time, maxSkew time.Duration) error {
	if err := a.checkStructure(); err != nil {
		return err
	}
	if a.At.After(now.Add(maxSkew)) {
		return fmt.Errorf("ack at %s: %w", a.At.Format(time.RFC3339), ErrFutureTimestamp)
	}
	if len(holderKey) != ed25519.PublicKeySize || !ed25519.Verify(holderKey, a.signingMessage(), a.Signature) {
		return ErrBadSignature
	}
	return nil
}

// MarshalBinary returns the canonical encoding:
//
//	u8 wire version (1) | u8 type (2) | u16 len | object | u8 kind |
//	u64 version | u16 len | holder | u8 phase | u64 at unix ns | 64 signature
func (a Ack) MarshalBinary() ([]byte, error) {
	if err := a.checkStructure(); err != nil {
		return nil, fmt.Errorf("encode ack: %w", err)
	}
	b := a.appendBody(make([]byte, 0, 96+len(a.Object)+len(a.Holder)))
	return append(b, a.Signature...), nil
}

func (a *Ack) appendBody(b []byte) []byte {
	b = append(b, wireVersion, typeAck)
	b = wire.AppendText(b, a.Object)
	b = append(b, byte(a.Kind))
	b = binary.BigEndian.AppendUint64(b, a.Version)
	b = wire.AppendText(b, a.Holder)
	b = append(b, byte(a.Phase))
	return appendTime(b, a.At)
}

func (a *Ack) signingMessage() []byte {
	return a.appendBody([]byte("cairn tombstone ack v1\x00"))
}

// DecodeAck parses an acknowledgement from untrusted bytes. Like Decode it
// never panics, bounds what it copies and accepts only canonical bytes. It
// checks structure, not the signature: call VerifyAck.
func DecodeAck(b []byte) (Ack, error) {
	r := newReader(b)
	r.header(typeAck)
	var a Ack
	a.Object = r.text(MaxObjectLen, "object")
	a.Kind = Kind(r.U8("kind"))
	a.Version = r.U64("version")
	a.Holder = r.text(MaxHolderLen, "holder")
	a.Phase = Phase(r.U8("phase"))
	a.At = r.timestamp("at")
	a.Signature = bytes.Clone(r.Take(ed25519.SignatureSize, "signature"))
	if err := r.Done(); err != nil {
		return Ack{}, fmt.Errorf("decode ack: %w", err)
	}
	if err := a.checkStructure(); err != nil {
		return Ack{}, fmt.Errorf("decode ack: %w", err)
	}
	return a, nil
}

// betterAck orders acknowledgements of one (object, kind, holder, phase):
// higher version, then later time, then larger signature.
func betterAck(a, b Ack) bool {
	if a.Version != b.Version {
		return a.Version > b.Version
	}
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return bytes.Compare(a.Signature, b.Signature) > 0
}
