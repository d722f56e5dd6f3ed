package federation

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"
)

// Roster limits and acceptance bounds.
const (
	// MaxMembers bounds the members of one roster.
	MaxMembers = 2048
	// MaxRevocations bounds the revocations one roster remembers.
	MaxRevocations = 8192
	// MaxRosterSize bounds an encoded roster, so that it fits one gossip
	// message (GossipSub's default limit is 1 MiB) and one join token.
	MaxRosterSize = 512 << 10
	// MaxVersionJump bounds how far ahead of the current roster a candidate
	// may be. Each admin operation adds one, so a larger jump means a bug or
	// a key used carelessly; accepting it could exhaust the version space.
	MaxVersionJump = 1 << 20
	// MaxClockSkew is how far in the future a roster's IssuedAt may lie
	// before it is rejected; a node retries once its clock catches up.
	MaxClockSkew = time.Hour
)

// Roster is the federation's signed list of members and revocations. A
// roster from DecodeRoster, Sign or an admin operation keeps Members and
// Revoked sorted by PeerID with no duplicates; Verify checks this.
type Roster struct {
	FederationID string // IDFromKey(AuthorityKey)
	Name         string // human name of the federation
	Version      uint64 // 1 for a new federation, +1 per admin operation
	IssuedAt     time.Time
	Members      []Member
	Revoked      []Revocation
	AuthorityKey ed25519.PublicKey
	Signature    []byte // ed25519 over the encoding without the signature
}

// Member is one peer admitted to the federation. Operator and Region are
// settled by the authority, never claimed by the peer.
type Member struct {
	PeerID     string            // libp2p peer ID string
	PublicKey  ed25519.PublicKey // the peer's identity key; the node checks it matches PeerID
	Operator   string            // organisation running the node
	Region     string
	AdmittedAt time.Time
	Expires    time.Time // zero: never
}

// Revocation records that a peer was removed. A revoked peer is never a
// member again unless the authority re-admits it with Readmit.
type Revocation struct {
	PeerID string
	At     time.Time
	Reason string // may be empty
}

// ActiveAt reports whether m has not expired at now.
func (m Member) ActiveAt(now time.Time) bool {
	return m.Expires.IsZero() || now.Before(m.Expires)
}

func (m Member) validate() error {
	if err := validatePeerID(m.PeerID); err != nil {
		return err
	}
	if len(m.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("member %s: public key of %d bytes: %w", m.PeerID, len(m.PublicKey), ErrInvalid)
	}
	return m.validateFields()
}

func (m Member) validateFields() error {
	errs := []error{
		validateName("operator", m.Operator),
		validateName("region", m.Region),
		validateTime("admitted at", m.AdmittedAt),
	}
	if !m.Expires.IsZero() {
		errs = append(errs, validateTime("expires", m.Expires))
		if !m.Expires.After(m.AdmittedAt) {
			errs = append(errs, fmt.Errorf("expires before it was admitted: %w", ErrInvalid))
		}
	}
	return firstError("member "+m.PeerID, errs)
}

func (v Revocation) validate() error {
	errs := []error{validatePeerID(v.PeerID), validateTime("revoked at", v.At), validateReason(v.Reason)}
	return firstError("revocation of "+v.PeerID, errs)
}

func firstError(context string, errs []error) error {
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", context, err)
		}
	}
	return nil
}

// validate checks every rule except the signature.
func (r Roster) validate() error {
	errs := []error{
		validateFederationID(r.FederationID),
		validateName("federation name", r.Name),
		validateTime("issued at", r.IssuedAt),
		r.validateHeader(),
		r.validateMembers(),
		r.validateRevocations(),
	}
	return firstError("roster", errs)
}

func (r Roster) validateHeader() error {
	switch {
	case r.Version == 0:
		return fmt.Errorf("version 0: %w", ErrInvalid)
	case len(r.AuthorityKey) != ed25519.PublicKeySize:
		return fmt.Errorf("authority key of %d bytes: %w", len(r.AuthorityKey), ErrInvalid)
	case len(r.Members) > MaxMembers:
		return fmt.Errorf("%d members (limit %d): %w", len(r.Members), MaxMembers, ErrTooLarge)
	case len(r.Revoked) > MaxRevocations:
		return fmt.Errorf("%d revocations (limit %d): %w", len(r.Revoked), MaxRevocations, ErrTooLarge)
	}
	return nil
}

func (r Roster) validateMembers() error {
	keys := make(map[string]string, len(r.Members))
	for i, m := range r.Members {
		if err := m.validate(); err != nil {
			return err
		}
		if i > 0 && r.Members[i-1].PeerID >= m.PeerID {
			return fmt.Errorf("member %s duplicated or out of order: %w", m.PeerID, ErrInvalid)
		}
		if other, dup := keys[string(m.PublicKey)]; dup {
			return fmt.Errorf("members %s and %s share a public key: %w", other, m.PeerID, ErrInvalid)
		}
		keys[string(m.PublicKey)] = m.PeerID
	}
	return nil
}

func (r Roster) validateRevocations() error {
	for i, v := range r.Revoked {
		if err := v.validate(); err != nil {
			return err
		}
		if i > 0 && r.Revoked[i-1].PeerID >= v.PeerID {
			return fmt.Errorf("revocation of %s duplicated or out of order: %w", v.PeerID, ErrInvalid)
		}
		if _, listed := r.Member(v.PeerID); listed {
			return fmt.Errorf("revoked peer %s is still listed as a member: %w", v.PeerID, ErrInvalid)
		}
	}
	return nil
}

// Sign returns a copy of r signed by a: the federation ID and authority key
// are set from a, members and revocations sorted, times made canonical.
// It fails with ErrNotAuthority when r names another federation, and with
// ErrInvalid or ErrTooLarge when r breaks a rule.
func (r Roster) Sign(a *Authority) (Roster, error) {
	if a == nil {
		return Roster{}, ErrNoAuthority
	}
	if r.FederationID != "" && r.FederationID != a.FederationID() {
		return Roster{}, fmt.Errorf("sign roster of %s with the key of %s: %w", r.FederationID, a.FederationID(), ErrNotAuthority)
	}
	out := r.clone()
	out.FederationID, out.AuthorityKey, out.Signature = a.FederationID(), a.PublicKey(), nil
	out.sortEntries()
	if err := out.validate(); err != nil {
		return Roster{}, fmt.Errorf("sign: %w", err)
	}
	out.canonicalTimes()
	body := out.body()
	if len(body)+1+ed25519.SignatureSize > MaxRosterSize {
		return Roster{}, fmt.Errorf("sign: roster of %d bytes (limit %d): %w", len(body), MaxRosterSize, ErrTooLarge)
	}
	out.Signature = a.sign(rosterDomain, body)
	return out, nil
}

// Verify checks that r belongs to the federation expectedID, obeys every
// rule, carries a valid signature of that federation's authority, and was
// not issued more than MaxClockSkew after now.
func (r Roster) Verify(expectedID string, now time.Time) error {
	if r.FederationID != expectedID {
		return fmt.Errorf("roster of %q, want %q: %w", r.FederationID, expectedID, ErrOtherFederation)
	}
	if err := r.validate(); err != nil {
		return err
	}
	if IDFromKey(r.AuthorityKey) != r.FederationID {
		return fmt.Errorf("roster signed by a key that is not the authority of %s: %w", r.FederationID, ErrBadSignature)
	}
	if !ed25519.Verify(r.AuthorityKey, append([]byte(rosterDomain), r.body()...), r.Signature) {
		return fmt.Errorf("roster version %d: %w", r.Version, ErrBadSignature)
	}
	if r.IssuedAt.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("roster issued at %v, now is %v: %w", r.IssuedAt, now, ErrFutureRoster)
	}
	return nil
}

// clone copies r deeply, so that admin operations never touch their input.
func (r Roster) clone() Roster {
	out := r
	out.AuthorityKey = bytes.Clone(r.AuthorityKey)
	out.Signature = bytes.Clone(r.Signature)
	out.Members = nil
	for _, m := range r.Members {
		m.PublicKey = bytes.Clone(m.PublicKey)
		out.Members = append(out.Members, m)
	}
	out.Revoked = nil
	out.Revoked = append(out.Revoked, r.Revoked...)
	return out
}

func (r *Roster) sortEntries() {
	slices.SortFunc(r.Members, func(a, b Member) int { return cmp.Compare(a.PeerID, b.PeerID) })
	slices.SortFunc(r.Revoked, func(a, b Revocation) int { return cmp.Compare(a.PeerID, b.PeerID) })
}

func (r *Roster) canonicalTimes() {
	r.IssuedAt = canonicalTime(r.IssuedAt)
	for i := range r.Members {
		r.Members[i].AdmittedAt = canonicalTime(r.Members[i].AdmittedAt)
		r.Members[i].Expires = canonicalTime(r.Members[i].Expires)
	}
	for i := range r.Revoked {
		r.Revoked[i].At = canonicalTime(r.Revoked[i].At)
	}
}
