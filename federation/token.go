package federation

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cairn-fed/cairn/internal/wire"
)

// Join token limits.
const (
	// MaxBootstrapAddrs bounds the multiaddrs one token carries.
	MaxBootstrapAddrs = 16
	// MaxAddrLen bounds one multiaddr string in bytes.
	MaxAddrLen = 256
	// MaxTokenLen bounds the token string ParseJoinToken reads, whitespace
	// included.
	MaxTokenLen = 1 << 20

	tokenPrefix  = "cjoin1"
	tokenFormat  = 1
	tokenDomain  = "cairn join token v1\x00"
	maxTokenBody = MaxRosterSize + 8<<10
)

// JoinToken is what a new member needs to join: the federation ID, the
// roster that admits it, its own peer ID, members to bootstrap from and an
// expiry, all signed by the authority. Its printable form (Encode) is one
// copyable string starting with "cjoin1".
type JoinToken struct {
	FederationID string
	PeerID       string   // the admitted peer
	Bootstrap    []string // multiaddr strings of members to dial first
	Expires      time.Time
	Roster       Roster
	Signature    []byte // the authority's, over everything above
}

// NewJoinToken issues a token admitting peerID, which must be a listed
// member of r, valid until expires. a must be r's authority.
func NewJoinToken(r Roster, peerID string, bootstrap []string, expires time.Time, a *Authority) (JoinToken, error) {
	if a == nil {
		return JoinToken{}, ErrNoAuthority
	}
	t := JoinToken{FederationID: r.FederationID, PeerID: peerID, Bootstrap: append([]string(nil), bootstrap...),
		Expires: canonicalTime(expires), Roster: r.clone()}
	if err := t.check(a.FederationID()); err != nil {
		return JoinToken{}, fmt.Errorf("new join token: %w", err)
	}
	t.Signature = a.sign(tokenDomain, t.body())
	return t, nil
}

func (t JoinToken) check(authorityID string) error {
	if t.FederationID != authorityID {
		return fmt.Errorf("roster of %s, key of %s: %w", t.FederationID, authorityID, ErrNotAuthority)
	}
	if err := t.Roster.Verify(t.FederationID, t.Roster.IssuedAt); err != nil {
		return err
	}
	if _, ok := t.Roster.Member(t.PeerID); !ok {
		return fmt.Errorf("%s is not listed in roster version %d: %w", t.PeerID, t.Roster.Version, ErrNotMember)
	}
	if err := validateTime("expiry", t.Expires); err != nil {
		return err
	}
	return validateBootstrap(t.Bootstrap)
}

func validateBootstrap(addrs []string) error {
	if len(addrs) > MaxBootstrapAddrs {
		return fmt.Errorf("%d bootstrap addresses (limit %d): %w", len(addrs), MaxBootstrapAddrs, ErrTooLarge)
	}
	for _, a := range addrs {
		if a == "" || len(a) > MaxAddrLen || !printable(a) {
			return fmt.Errorf("bootstrap address %q: want 1..%d printable bytes: %w", a, MaxAddrLen, ErrInvalid)
		}
	}
	return nil
}

// Encode returns the printable, copyable form of t.
func (t JoinToken) Encode() string {
	return sealEnvelope(tokenPrefix, tokenFormat, appendBlob(t.body(), t.Signature))
}

// body is everything the token signature covers.
func (t JoinToken) body() []byte {
	b := wire.AppendText(nil, t.FederationID)
	b = wire.AppendText(b, t.PeerID)
	b = appendTime(b, t.Expires)
	b = append(b, byte(len(t.Bootstrap)))
	for _, a := range t.Bootstrap {
		b = wire.AppendText(b, a)
	}
	roster := t.Roster.Encode()
	b = binary.BigEndian.AppendUint32(b, uint32(len(roster)))
	return append(b, roster...)
}

// ParseJoinToken reads a token from untrusted input and verifies it at
// now. Errors, each wrapped with what failed: ErrCorrupted (bad characters
// or checksum), ErrTruncated (part of the string is missing),
// ErrUnsupportedVersion, ErrMalformed and ErrInvalid (bad contents),
// ErrOtherFederation or ErrBadSignature (the roster or the token does not
// verify), ErrTokenExpired, ErrNotMember (the roster no longer admits the
// peer). Whitespace and letter case are ignored.
func ParseJoinToken(s string, now time.Time) (JoinToken, error) {
	if len(s) > MaxTokenLen {
		return JoinToken{}, fmt.Errorf("join token of %d characters (limit %d): %w", len(s), MaxTokenLen, ErrTooLarge)
	}
	body, err := openEnvelope(s, tokenPrefix, tokenFormat, maxTokenBody)
	if err != nil {
		return JoinToken{}, fmt.Errorf("join token: %w", err)
	}
	t, err := decodeToken(body)
	if err != nil {
		return JoinToken{}, fmt.Errorf("join token: %w", err)
	}
	if err := t.verify(now); err != nil {
		return JoinToken{}, fmt.Errorf("join token: %w", err)
	}
	return t, nil
}

func decodeToken(body []byte) (JoinToken, error) {
	r := newReader(body)
	t := JoinToken{
		FederationID: r.text(idLen, "federation ID"),
		PeerID:       r.text(MaxPeerIDLen, "peer ID"),
		Expires:      r.time("expiry"),
	}
	n := int(r.U8("bootstrap count"))
	for i := 0; i < n && r.Err() == nil; i++ {
		t.Bootstrap = append(t.Bootstrap, r.text(MaxAddrLen, "bootstrap address"))
	}
	rosterBytes := r.Take(r.U32("roster length"), "roster")
	t.Signature = r.blob(ed25519.SignatureSize, "signature")
	if err := r.Done(); err != nil {
		return JoinToken{}, err
	}
	roster, err := DecodeRoster(rosterBytes)
	t.Roster = roster
	return t, err
}

// verify checks the roster, then the token signature, then expiry and
// membership, so that an expiry error is only reported for a genuine token.
func (t JoinToken) verify(now time.Time) error {
	if err := t.Roster.Verify(t.FederationID, now); err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	if !ed25519.Verify(t.Roster.AuthorityKey, append([]byte(tokenDomain), t.body()...), t.Signature) {
		return fmt.Errorf("token not signed by the authority of %s: %w", t.FederationID, ErrBadSignature)
	}
	if err := validateTime("expiry", t.Expires); err != nil {
		return err
	}
	if err := validateBootstrap(t.Bootstrap); err != nil {
		return err
	}
	if !now.Before(t.Expires) {
		return fmt.Errorf("expired at %v, ask the federation admin for a new one: %w", t.Expires, ErrTokenExpired)
	}
	if !t.Roster.IsMember(t.PeerID, now) {
		return fmt.Errorf("roster version %d does not admit %s at %v: %w", t.Roster.Version, t.PeerID, now, ErrNotMember)
	}
	return nil
}

// CheckFor fails with ErrNotForThisPeer unless t admits self, the joining
// node's own peer ID.
func (t JoinToken) CheckFor(self string) error {
	if t.PeerID != self {
		return fmt.Errorf("token admits %s, this node is %s; run admit with this node's peer ID: %w", t.PeerID, self, ErrNotForThisPeer)
	}
	return nil
}

// CheckFederation fails with ErrOtherFederation when the node already
// belongs to federation current (non-empty) and t is for another one.
func (t JoinToken) CheckFederation(current string) error {
	if current != "" && t.FederationID != current {
		return fmt.Errorf("token for %s, this node belongs to %s: %w", t.FederationID, current, ErrOtherFederation)
	}
	return nil
}
