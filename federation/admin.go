package federation

import (
	"fmt"
	"slices"
	"time"
)

// The admin operations behind cairn federation create, admit and revoke.
// Each is a pure function: it returns a new roster signed by the authority,
// one version above its input, issued at now, and never modifies the input.
// The caller stores and gossips the result.

// Create starts a federation named name whose first member is founder.
// founder.AdmittedAt is set to now.
func Create(name string, a *Authority, founder Member, now time.Time) (Roster, error) {
	founder.AdmittedAt = now
	r := Roster{Name: name, Version: 1, IssuedAt: now, Members: []Member{founder}}
	out, err := r.Sign(a)
	if err != nil {
		return Roster{}, fmt.Errorf("create federation %q: %w", name, err)
	}
	return out, nil
}

// Admit adds m (admitted at now). It fails with ErrAlreadyMember when the
// peer or its public key is already listed, and with ErrRevokedPeer when
// the peer was revoked: use Readmit for that.
func Admit(r Roster, m Member, a *Authority, now time.Time) (Roster, error) {
	if r.IsRevoked(m.PeerID) {
		return Roster{}, fmt.Errorf("admit %s: %w", m.PeerID, ErrRevokedPeer)
	}
	return admit(r, m, a, now)
}

// Readmit is Admit that also accepts a revoked peer, lifting its
// revocation. It is the explicit way back for a revoked peer.
func Readmit(r Roster, m Member, a *Authority, now time.Time) (Roster, error) {
	return admit(r, m, a, now)
}

func admit(r Roster, m Member, a *Authority, now time.Time) (Roster, error) {
	if err := checkNewMember(r, m); err != nil {
		return Roster{}, fmt.Errorf("admit %s: %w", m.PeerID, err)
	}
	m.AdmittedAt = now
	return successor(r, a, now, func(out *Roster) {
		out.Revoked = slices.DeleteFunc(out.Revoked, func(v Revocation) bool { return v.PeerID == m.PeerID })
		out.Members = append(out.Members, m)
	})
}

func checkNewMember(r Roster, m Member) error {
	if _, ok := r.Member(m.PeerID); ok {
		return ErrAlreadyMember
	}
	for _, other := range r.Members {
		if string(other.PublicKey) == string(m.PublicKey) {
			return fmt.Errorf("public key already belongs to %s: %w", other.PeerID, ErrAlreadyMember)
		}
	}
	return nil
}

// Revoke removes peerID, recording the revocation at now with reason.
// It fails with ErrNotMember when the peer is not listed.
func Revoke(r Roster, peerID, reason string, a *Authority, now time.Time) (Roster, error) {
	if _, ok := r.Member(peerID); !ok {
		return Roster{}, fmt.Errorf("revoke %s: %w", peerID, notListed(r, peerID))
	}
	return revoke(r, []string{peerID}, reason, a, now)
}

// RevokeOperator removes every listed member run by operator. It fails
// with ErrNotMember when the operator has no listed member.
func RevokeOperator(r Roster, operator, reason string, a *Authority, now time.Time) (Roster, error) {
	var peers []string
	for _, m := range r.ByOperator()[operator] {
		peers = append(peers, m.PeerID)
	}
	if len(peers) == 0 {
		return Roster{}, fmt.Errorf("revoke operator %q: it runs no listed peer: %w", operator, ErrNotMember)
	}
	return revoke(r, peers, reason, a, now)
}

func revoke(r Roster, peers []string, reason string, a *Authority, now time.Time) (Roster, error) {
	out, err := successor(r, a, now, func(out *Roster) {
		out.Members = slices.DeleteFunc(out.Members, func(m Member) bool { return slices.Contains(peers, m.PeerID) })
		for _, p := range peers {
			out.Revoked = append(out.Revoked, Revocation{PeerID: p, At: now, Reason: reason})
		}
	})
	if err != nil {
		return Roster{}, fmt.Errorf("revoke: %w", err)
	}
	return out, nil
}

// Renew sets the expiry of the listed member peerID (zero: never expires),
// bringing an expired member back without revoking it.
func Renew(r Roster, peerID string, expires time.Time, a *Authority, now time.Time) (Roster, error) {
	if _, ok := r.Member(peerID); !ok {
		return Roster{}, fmt.Errorf("renew %s: %w", peerID, notListed(r, peerID))
	}
	out, err := successor(r, a, now, func(out *Roster) {
		i := slices.IndexFunc(out.Members, func(m Member) bool { return m.PeerID == peerID })
		out.Members[i].Expires = expires
	})
	if err != nil {
		return Roster{}, fmt.Errorf("renew %s: %w", peerID, err)
	}
	return out, nil
}

func notListed(r Roster, peerID string) error {
	if r.IsRevoked(peerID) {
		return fmt.Errorf("already revoked: %w", ErrNotMember)
	}
	return ErrNotMember
}

// successor copies r, applies change, bumps the version and signs.
func successor(r Roster, a *Authority, now time.Time, change func(*Roster)) (Roster, error) {
	if a == nil {
		return Roster{}, ErrNoAuthority
	}
	if r.FederationID != a.FederationID() {
		return Roster{}, fmt.Errorf("roster of %s, key of %s: %w", r.FederationID, a.FederationID(), ErrNotAuthority)
	}
	out := r.clone()
	out.Version++
	out.IssuedAt = now
	change(&out)
	return out.Sign(a)
}
