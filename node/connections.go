package node

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Connections: one notifee hears every connection that opens or closes,
// and fans out to the subsystems in this order:
//
//	opened:  when last seen (membership), the event stream (online), the
//	         replication core (reachable again), the roster push, anti-
//	         entropy of tombstones and attestations, redelivery of
//	         attestations waiting for the peer, this node's latest
//	         statement of its rounds, the owner's catalog head
//	closed:  when last seen (membership), and, once the peer's last connection
//	         is gone, the event stream (offline) and the core (unreachable)
//
// libp2p calls these on its own goroutines, for every connection; only a
// peer's first connection is greeted (TCP and QUIC may both open). Each
// reaction only records or spawns, and takes no lock across IO.

// watchConnections installs the notifee, once the subsystems it feeds
// exist. Peers connected already (inbound, while the node started) are
// greeted as if they had just connected.
func (n *Node) watchConnections() {
	n.net.host.Network().Notify(&network.NotifyBundle{
		ConnectedF:    func(_ network.Network, c network.Conn) { n.connectionOpened(c.RemotePeer()) },
		DisconnectedF: func(_ network.Network, c network.Conn) { n.connectionClosed(c.RemotePeer()) },
	})
	for _, p := range n.net.host.Network().Peers() {
		n.connectionOpened(p)
	}
}

func (n *Node) connectionOpened(p peer.ID) {
	if !n.net.greeted.first(p) {
		return // a second connection (TCP and QUIC): greeted already
	}
	n.fed.MarkSeen(p, time.Now())
	n.notePeer(p, true)
	n.onPeerUp(p)
	n.pushRoster(p)
	n.onMemberConnected(p)
	n.redeliver(p)
	n.pushStatement(p)
	if h, ok := n.ownHead(); ok {
		n.spawn(func(ctx context.Context) { n.pushHead(ctx, p, h) })
	}
}

func (n *Node) connectionClosed(p peer.ID) {
	// A peer was last seen when its last connection closed: status shows
	// how long an unconfirmed holder has been away.
	n.fed.MarkSeen(p, time.Now())
	if n.net.host.Network().Connectedness(p) != network.Connected {
		n.net.greeted.forget(p)
	}
	n.onMemberDisconnected(p)
}

// greetings remembers the peers greeted since their first connection.
type greetings struct {
	mu sync.Mutex
	m  map[peer.ID]bool // guarded by mu
}

// first reports whether p is not greeted yet, and marks it greeted.
func (g *greetings) first(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[peer.ID]bool{}
	}
	if g.m[p] {
		return false
	}
	g.m[p] = true
	return true
}

func (g *greetings) forget(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.m, p)
}
