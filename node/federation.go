package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/node/membership"
	"github.com/cairn-fed/cairn/node/repo"
)

// ErrNoFederation means the node belongs to no federation yet. Its
// message says how to get in: members talk only to members, so nothing
// else (connecting, fetching) helps until then.
var ErrNoFederation = membership.ErrNoFederation

// JoinTokenLifetime is how long a join token printed by admit stays valid.
const JoinTokenLifetime = 7 * 24 * time.Hour

// The authority key is kept by membership in the repository.
var _ membership.AuthorityStore = (*repo.Repo)(nil)

// loadFederation installs the stored roster (the gater enforces it from
// before the host listens), loads the authority key if this node keeps it,
// and re-checks membership periodically, since members can expire.
func (n *Node) loadFederation(ctx context.Context, stored *federation.Roster) error {
	if stored != nil {
		err := n.changeRoster(ctx, false, func(cur *federation.Roster) (federation.Roster, error) {
			if cur != nil {
				return *cur, nil // installed already: keep it
			}
			return *stored, nil
		})
		if err != nil {
			return err
		}
	}
	n.spawn(n.enforceExpiries)
	return n.fed.LoadAuthority()
}

// enforceExpiries drops connections of members whose admission expired;
// new connections are refused by the gater as soon as they expire.
func (n *Node) enforceExpiries(ctx context.Context) {
	for {
		// Wake when the next membership ends, and at least every 30 s.
		wait := 30 * time.Second
		if r := n.currentRoster(); r != nil {
			if next, ok := r.NextExpiry(time.Now()); ok {
				wait = min(wait, time.Until(next)+time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			n.closeNonMembers()
		}
	}
}

// selfMember describes this node as a roster member.
func (n *Node) selfMember(operator, region string, now time.Time) (federation.Member, error) {
	return membership.MemberFor(n.net.host.ID(), operator, region, now)
}

// FederationCreate founds a federation with this node as first member and
// keeps the new authority key in the repository.
func (n *Node) FederationCreate(ctx context.Context, name, operator, region string) (FederationInfo, error) {
	err := n.changeRoster(ctx, true, func(cur *federation.Roster) (federation.Roster, error) {
		if cur != nil {
			return federation.Roster{}, errors.New("this node belongs to a federation already; a node is a member of one federation")
		}
		now := time.Now()
		self, err := n.selfMember(operator, region, now)
		if err != nil {
			return federation.Roster{}, err
		}
		a, err := federation.NewAuthority(rand.Reader)
		if err != nil {
			return federation.Roster{}, err
		}
		r, err := federation.Create(name, a, self, now)
		if err != nil {
			return federation.Roster{}, err
		}
		return r, n.fed.StoreAuthority(a)
	})
	if err != nil {
		return FederationInfo{}, err
	}
	return n.FederationShow()
}

// FederationAdmit adds a member and returns a join token for it. The token
// is made before the new roster is installed, so a failure leaves nothing
// half done.
func (n *Node) FederationAdmit(ctx context.Context, peerID, operator, region string) (string, error) {
	return n.admit(ctx, peerID, operator, region, AdmitOptions{})
}

// AdmitOptions are the choices of `cairn federation admit` beyond who.
type AdmitOptions struct {
	// Readmit admits a peer that was revoked, lifting its revocation: the
	// explicit way back into the federation.
	Readmit bool
	// For, when positive, makes the membership end that long after the
	// admission unless renewed (federation renew).
	For time.Duration
}

// FederationAdmitWith is FederationAdmit with options.
func (n *Node) FederationAdmitWith(ctx context.Context, peerID, operator, region string, opts AdmitOptions) (string, error) {
	return n.admit(ctx, peerID, operator, region, opts)
}

// FederationRenew sets when a member's membership ends: at expires, or
// never when expires is zero. An expired member comes back without being
// admitted again.
func (n *Node) FederationRenew(ctx context.Context, peerID string, expires time.Time) (FederationInfo, error) {
	err := n.changeRoster(ctx, true, func(cur *federation.Roster) (federation.Roster, error) {
		a, err := n.adminState(cur)
		if err != nil {
			return federation.Roster{}, err
		}
		return federation.Renew(*cur, peerID, expires, a, time.Now())
	})
	if err != nil {
		return FederationInfo{}, err
	}
	return n.FederationShow()
}

func (n *Node) admit(ctx context.Context, peerID, operator, region string, opts AdmitOptions) (string, error) {
	id, err := peer.Decode(peerID)
	if err != nil {
		return "", fmt.Errorf("%q is not a peer ID (the joining node prints it with `cairn id`): %w", peerID, err)
	}
	var token string
	err = n.changeRoster(ctx, true, func(cur *federation.Roster) (federation.Roster, error) {
		a, err := n.adminState(cur)
		if err != nil {
			return federation.Roster{}, err
		}
		now := time.Now()
		m, err := membership.MemberFor(id, operator, region, now)
		if err != nil {
			return federation.Roster{}, err
		}
		if opts.For > 0 {
			m.Expires = now.Add(opts.For)
		}
		admitFn := federation.Admit
		if opts.Readmit {
			admitFn = federation.Readmit
		}
		next, err := admitFn(*cur, m, a, now)
		if err != nil {
			return federation.Roster{}, err
		}
		tok, err := federation.NewJoinToken(next, peerID, membership.TokenAddrs(n.ID().Addrs), now.Add(JoinTokenLifetime), a)
		if err != nil {
			return federation.Roster{}, err
		}
		token = tok.Encode()
		return next, nil
	})
	return token, err
}

// FederationRevoke removes a member, or every member of an operator. It
// refuses to revoke the node that runs it: every member would drop it, and
// with it the only node that can sign the next roster.
func (n *Node) FederationRevoke(ctx context.Context, peerID, operator, reason string) (FederationInfo, error) {
	err := n.changeRoster(ctx, true, func(cur *federation.Roster) (federation.Roster, error) {
		a, err := n.adminState(cur)
		if err != nil {
			return federation.Roster{}, err
		}
		self, _ := cur.Member(n.net.host.ID().String())
		if peerID == self.PeerID || (operator != "" && operator == self.Operator) {
			return federation.Roster{}, fmt.Errorf("%w: refusing to revoke this node, which holds the authority key; move the key to another member first (export-authority, import-authority)", federation.ErrInvalid)
		}
		if operator != "" {
			return federation.RevokeOperator(*cur, operator, reason, a, time.Now())
		}
		return federation.Revoke(*cur, peerID, reason, a, time.Now())
	})
	if err != nil {
		return FederationInfo{}, err
	}
	return n.FederationShow()
}

// FederationJoin applies a join token and dials its bootstrap members.
func (n *Node) FederationJoin(ctx context.Context, token string) (FederationInfo, error) {
	t, err := federation.ParseJoinToken(token, time.Now())
	if err != nil {
		return FederationInfo{}, err
	}
	if err := t.CheckFor(n.net.host.ID().String()); err != nil {
		return FederationInfo{}, err
	}
	if err := n.joinRoster(ctx, t); err != nil {
		return FederationInfo{}, err
	}
	// Members connected already (while asking to be admitted) were greeted
	// before this node had a roster: hand them ours, and a member with a
	// newer one answers with it.
	for _, p := range n.net.host.Network().Peers() {
		n.pushRoster(p)
	}
	var reached int
	for _, a := range t.Bootstrap {
		if err := n.Connect(ctx, a); err != nil {
			n.logger.Warn("bootstrap member unreachable", "addr", a, "err", err)
			continue
		}
		reached++
	}
	if reached == 0 && len(t.Bootstrap) > 0 {
		n.logger.Warn("joined, but no bootstrap member answered yet; the node keeps trying its configured bootstrap peers")
	}
	return n.FederationShow()
}

// inFederation reports whether the node belongs to a federation.
func (n *Node) inFederation() bool { return n.currentRoster() != nil }

// currentRoster returns the latest verified roster, or nil.
func (n *Node) currentRoster() *federation.Roster { return n.fed.Roster() }

// adminState returns the authority key of cur's federation, or why an
// admin operation cannot run here.
func (n *Node) adminState(cur *federation.Roster) (*federation.Authority, error) {
	return n.fed.AdminKey(cur)
}

// FederationRemoveAuthority deletes the authority key from this node, to
// be kept offline. The key itself never leaves through the node: `cairn
// federation export-authority` reads it from the repository, with the
// passphrase when it is sealed, before asking for this.
func (n *Node) FederationRemoveAuthority() error { return n.fed.RemoveAuthority() }

// FederationImportAuthority brings an exported authority key back.
func (n *Node) FederationImportAuthority(text string) error { return n.fed.ImportAuthority(text) }
