package federation

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	"github.com/cairn-fed/cairn/internal/wire"
)

const (
	rosterFormat = 1
	rosterDomain = "cairn roster v1\x00"
	// Smallest encodings of one entry, used to bound counts before
	// allocating: empty texts, fixed fields.
	minMemberSize     = 2 + 1 + ed25519.PublicKeySize + 2 + 2 + 8 + 8
	minRevocationSize = 2 + 8 + 2
)

// Encode returns the canonical encoding of r: the signed body followed by
// the signature. DecodeRoster(r.Encode()) gives r back for every roster
// that Sign or DecodeRoster produced.
func (r Roster) Encode() []byte {
	return appendBlob(r.body(), r.Signature)
}

// body is everything the signature covers.
func (r Roster) body() []byte {
	b := []byte{rosterFormat}
	b = wire.AppendText(b, r.FederationID)
	b = wire.AppendText(b, r.Name)
	b = binary.BigEndian.AppendUint64(b, r.Version)
	b = appendTime(b, r.IssuedAt)
	b = appendBlob(b, r.AuthorityKey)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Members)))
	for _, m := range r.Members {
		b = appendMember(b, m)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Revoked)))
	for _, v := range r.Revoked {
		b = appendRevocation(b, v)
	}
	return b
}

func appendMember(b []byte, m Member) []byte {
	b = wire.AppendText(b, m.PeerID)
	b = appendBlob(b, m.PublicKey)
	b = wire.AppendText(b, m.Operator)
	b = wire.AppendText(b, m.Region)
	b = appendTime(b, m.AdmittedAt)
	return appendTime(b, m.Expires)
}

func appendRevocation(b []byte, v Revocation) []byte {
	b = wire.AppendText(b, v.PeerID)
	b = appendTime(b, v.At)
	return wire.AppendText(b, v.Reason)
}

// DecodeRoster parses an encoded roster from an untrusted source. It never
// panics, allocates at most a small multiple of len(b), and checks every
// rule except the signature (see Verify).
func DecodeRoster(b []byte) (Roster, error) {
	if len(b) > MaxRosterSize {
		return Roster{}, fmt.Errorf("decode roster: %d bytes (limit %d): %w", len(b), MaxRosterSize, ErrTooLarge)
	}
	r := newReader(b)
	if v := r.U8("format"); r.Err() == nil && v != rosterFormat {
		return Roster{}, fmt.Errorf("decode roster: format %d (this node reads %d): %w", v, rosterFormat, ErrUnsupportedVersion)
	}
	out := readRoster(r)
	if err := r.Done(); err != nil {
		return Roster{}, fmt.Errorf("decode roster: %w", err)
	}
	if err := out.validate(); err != nil {
		return Roster{}, fmt.Errorf("decode roster: %w", err)
	}
	return out, nil
}

func readRoster(r reader) Roster {
	var out Roster
	out.FederationID = r.text(idLen, "federation ID")
	out.Name = r.text(MaxNameLen, "name")
	out.Version = r.U64("version")
	out.IssuedAt = r.time("issued at")
	out.AuthorityKey = r.blob(ed25519.PublicKeySize, "authority key")
	for range r.count(MaxMembers, minMemberSize, "member count") {
		out.Members = append(out.Members, readMember(r))
	}
	for range r.count(MaxRevocations, minRevocationSize, "revocation count") {
		out.Revoked = append(out.Revoked, readRevocation(r))
	}
	out.Signature = r.blob(ed25519.SignatureSize, "signature")
	return out
}

func readMember(r reader) Member {
	return Member{
		PeerID:     r.text(MaxPeerIDLen, "member peer ID"),
		PublicKey:  r.blob(ed25519.PublicKeySize, "member public key"),
		Operator:   r.text(MaxNameLen, "member operator"),
		Region:     r.text(MaxNameLen, "member region"),
		AdmittedAt: r.time("member admitted at"),
		Expires:    r.time("member expires"),
	}
}

func readRevocation(r reader) Revocation {
	return Revocation{
		PeerID: r.text(MaxPeerIDLen, "revoked peer ID"),
		At:     r.time("revoked at"),
		Reason: r.text(MaxReasonLen, "revocation reason"),
	}
}
