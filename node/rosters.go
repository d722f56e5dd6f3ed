package node

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/node/membership"
)

// Roster changes are decided and stored by membership (n.fed), one at a
// time; the node does the network side in install.

// joinRoster installs a token's roster, or a newer one of the same federation.
func (n *Node) joinRoster(ctx context.Context, t federation.JoinToken) error {
	return n.fed.Join(ctx, t, n.installer(false))
}

// receiveRoster handles a roster that came from a peer: it is applied
// only if it verifies and is newer; anything else is logged and dropped.
func (n *Node) receiveRoster(ctx context.Context, data []byte, from peer.ID) error {
	return n.fed.Receive(ctx, data, from, n.installer(false))
}

// changeRoster changes the roster as decide says (see membership.Change),
// publishing the new one when publish is set.
func (n *Node) changeRoster(ctx context.Context, publish bool, decide func(cur *federation.Roster) (federation.Roster, error)) error {
	return n.fed.Change(ctx, decide, n.installer(publish))
}

func (n *Node) installer(publish bool) membership.Install {
	return func(ctx context.Context, r federation.Roster) error { return n.install(ctx, r, publish) }
}

// install does the network side of a roster membership has just stored
// and handed to the gater: it follows the roster topic, disconnects peers
// no longer members, feeds the replication core and, when publish is set,
// gossips the roster to the other members. It runs under membership's
// change lock.
func (n *Node) install(ctx context.Context, r federation.Roster, publish bool) error {
	topic, err := n.rosterTopic(r.FederationID)
	if err != nil {
		return err
	}
	n.closeNonMembers()
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

// closeNonMembers drops every connected peer the gater no longer admits
// (revoked, or expired by the clock), and the attestations queued for
// them.
func (n *Node) closeNonMembers() {
	for _, p := range n.net.host.Network().Peers() {
		if !n.fed.Admits(p) {
			n.logger.Info("disconnecting a peer that is not a member", "peer", p)
			n.net.host.Network().ClosePeer(p)
		}
	}
	n.repl.outbox.Retain(n.fed.Admits) // attestations waiting for them would wait forever
}
