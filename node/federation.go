package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/node/repo"
)

// ErrNoFederation means the node belongs to no federation yet. Its
// message says how to get in: members talk only to members, so nothing
// else (connecting, fetching) helps until then.
var ErrNoFederation = errors.New("node: this node belongs to no federation yet; " + joinSteps)

// joinSteps says how a node becomes a member: only whoever holds the
// federation's authority key can admit it, and only by its peer ID.
const joinSteps = "to join one, run `cairn id` here and give the peer ID to whoever holds the federation's authority key; " +
	"they run `cairn federation admit PEER_ID --operator ORG --region REGION` and send you the token it prints; " +
	"then run `cairn federation join TOKEN` here (or found a new federation with `cairn federation create`)"

// JoinTokenLifetime is how long a join token printed by admit stays valid.
const JoinTokenLifetime = 7 * 24 * time.Hour

// fedState is the node's view of its federation.
type fedState struct {
	// change is held across reading the roster, deciding the next one and
	// installing it, so that concurrent changes cannot undo each other.
	change sync.Mutex
	// joinMu is held while the roster topic is joined (once), so that
	// waiting on pubsub never holds mu. Order: change, joinMu, then mu.
	joinMu sync.Mutex

	mu sync.Mutex
	// Guarded by mu.
	roster    *federation.Roster    // the latest verified roster; nil: none
	authority *federation.Authority // nil unless this node holds the key
	topic     *pubsub.Topic         // the roster gossip topic, once joined
}

// storedRoster reads the roster kept in the repository, or nil.
func storedRoster(r *repo.Repo) (*federation.Roster, error) {
	data, err := os.ReadFile(r.Path(repo.RosterFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	roster, err := federation.DecodeRoster(data)
	if err != nil {
		return nil, fmt.Errorf("stored roster %s: %w", r.Path(repo.RosterFile), err)
	}
	return &roster, nil
}

// loadFederation installs the stored roster (the gater enforces it from
// before the host listens), loads the authority key if this node keeps it,
// and re-checks membership periodically, since members can expire.
func (n *Node) loadFederation(ctx context.Context, stored *federation.Roster) error {
	if stored != nil {
		if err := n.install(ctx, *stored, false); err != nil {
			return err
		}
	}
	n.spawn(n.enforceExpiries)
	return n.loadAuthority()
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
			if r := n.currentRoster(); r != nil {
				n.enforce(*r)
			}
		}
	}
}

// selfMember describes this node as a roster member.
func (n *Node) selfMember(operator, region string, now time.Time) (federation.Member, error) {
	return memberFor(n.host.ID(), operator, region, now)
}

func memberFor(id peer.ID, operator, region string, now time.Time) (federation.Member, error) {
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return federation.Member{}, fmt.Errorf("peer ID %s does not embed its public key: %w", id, err)
	}
	if pub.Type() != crypto.Ed25519 {
		return federation.Member{}, fmt.Errorf("peer %s has a %s key; members need ed25519", id, pub.Type())
	}
	raw, err := pub.Raw()
	if err != nil {
		return federation.Member{}, err
	}
	return federation.Member{PeerID: id.String(), PublicKey: ed25519.PublicKey(raw), Operator: operator, Region: region, AdmittedAt: now}, nil
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
		return r, n.storeAuthority(a)
	})
	if err != nil {
		return FederationInfo{}, err
	}
	return n.FederationShow()
}

// tokenAddrs picks the addresses a join token carries: routable ones
// first, loopback last, at most federation.MaxBootstrapAddrs.
func tokenAddrs(addrs []string) []string {
	var out, loop []string
	for _, a := range addrs {
		if strings.HasPrefix(a, "/ip4/127.") || strings.HasPrefix(a, "/ip6/::1/") {
			loop = append(loop, a)
		} else {
			out = append(out, a)
		}
	}
	out = append(out, loop...)
	return out[:min(len(out), federation.MaxBootstrapAddrs)]
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
		m, err := memberFor(id, operator, region, now)
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
		tok, err := federation.NewJoinToken(next, peerID, tokenAddrs(n.ID().Addrs), now.Add(JoinTokenLifetime), a)
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
		self, _ := cur.Member(n.host.ID().String())
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
	if err := t.CheckFor(n.host.ID().String()); err != nil {
		return FederationInfo{}, err
	}
	if err := n.joinRoster(ctx, t); err != nil {
		return FederationInfo{}, err
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
func (n *Node) currentRoster() *federation.Roster {
	n.fed.mu.Lock()
	defer n.fed.mu.Unlock()
	return n.fed.roster
}
