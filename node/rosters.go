package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/node/repo"
)

// joinRoster installs a token's roster, or a newer one of the same federation.
func (n *Node) joinRoster(ctx context.Context, t federation.JoinToken) error {
	return n.changeRoster(ctx, false, func(cur *federation.Roster) (federation.Roster, error) {
		if err := checkMemberKeys(t.Roster); err != nil {
			return federation.Roster{}, err
		}
		if cur == nil {
			return t.Roster, nil
		}
		if err := t.CheckFederation(cur.FederationID); err != nil {
			return federation.Roster{}, err
		}
		next, err := federation.Accept(*cur, t.Roster, time.Now())
		if err != nil && !errors.Is(err, federation.ErrStale) {
			return federation.Roster{}, err
		}
		return next, nil
	})
}

// changeRoster serialises every change of the roster: decide sees the
// current roster (nil if none) and returns the next one; nothing changes
// when it fails or returns the current roster again.
func (n *Node) changeRoster(ctx context.Context, publish bool, decide func(cur *federation.Roster) (federation.Roster, error)) error {
	n.fed.change.Lock()
	defer n.fed.change.Unlock()
	cur := n.currentRoster()
	next, err := decide(cur)
	if err != nil {
		return err
	}
	if cur != nil && bytes.Equal(next.Encode(), cur.Encode()) {
		return nil
	}
	return n.install(ctx, next, publish)
}

// checkMemberKeys makes sure every member's peer ID is the one its listed
// public key gives: the gater admits by peer ID, while attestations are
// checked with the listed key.
func checkMemberKeys(r federation.Roster) error {
	for _, m := range r.Members {
		pub, err := crypto.UnmarshalEd25519PublicKey(m.PublicKey)
		if err != nil {
			return fmt.Errorf("%w: member %s: %v", federation.ErrInvalid, m.PeerID, err)
		}
		id, err := peer.IDFromPublicKey(pub)
		if err != nil || id.String() != m.PeerID {
			return fmt.Errorf("%w: member %s is listed with the public key of another peer", federation.ErrInvalid, m.PeerID)
		}
	}
	return nil
}

// install makes r the node's roster: stored durably, enforced by the
// gater (peers no longer members are disconnected at once) and, when
// publish is set, gossiped to the other members.
func (n *Node) install(ctx context.Context, r federation.Roster, publish bool) error {
	topic, err := n.rosterTopic(r.FederationID)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(n.repo.Path(repo.RosterFile), r.Encode(), 0o600); err != nil {
		return fmt.Errorf("store roster: %w", err)
	}
	n.fed.mu.Lock()
	n.fed.roster = &r
	n.fed.mu.Unlock()
	n.enforce(r)
	if err := n.replicationRoster(r); err != nil {
		return err
	}
	if publish {
		if err := topic.Publish(ctx, r.Encode()); err != nil {
			n.logger.Warn("gossip roster", "version", r.Version, "err", err)
		}
	}
	n.logger.Info("roster installed", "federation", r.FederationID, "version", r.Version, "members", len(r.Members))
	return nil
}

// enforce admits exactly r's current members and drops everyone else.
func (n *Node) enforce(r federation.Roster) {
	n.gater.setRoster(&r)
	for _, p := range n.host.Network().Peers() {
		if !n.gater.admits(p) {
			n.logger.Info("disconnecting a peer that is not a member", "peer", p)
			n.host.Network().ClosePeer(p)
		}
	}
}

// receiveRoster handles a roster that came from a peer: it is applied
// only if it verifies and is newer; anything else is logged and dropped.
func (n *Node) receiveRoster(ctx context.Context, data []byte, from peer.ID) error {
	var rejected error
	err := n.changeRoster(ctx, false, func(cur *federation.Roster) (federation.Roster, error) {
		if cur == nil {
			return federation.Roster{}, ErrNoFederation
		}
		cand, err := federation.DecodeRoster(data)
		if err == nil {
			err = checkMemberKeys(cand)
		}
		if err != nil {
			n.rostersRejected.Add(1)
			n.logger.Warn("rejected a malformed roster", "peer", from, "err", err)
			return federation.Roster{}, err
		}
		next, err := federation.Accept(*cur, cand, time.Now())
		if err != nil {
			rejected = err
			n.rostersRejected.Add(1)
			if !errors.Is(err, federation.ErrStale) { // stale: a replay, or a peer behind us
				n.logger.Warn("rejected a roster", "peer", from, "err", err)
			}
		}
		return next, nil // newer, the winner of a conflict, or the current one
	})
	if err != nil {
		return err
	}
	return rejected
}
