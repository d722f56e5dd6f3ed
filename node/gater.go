package node

import (
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/cairn-fed/cairn/federation"
)

// gater admits only members of the node's federation, inbound and
// outbound, once the node belongs to one. A node in no federation yet
// accepts anyone, so that it can be set up; a member never talks to a
// non-member, so a non-member learns nothing from it.
type gater struct {
	roster atomic.Pointer[federation.Roster] // nil: no federation yet, open
}

var _ connmgr.ConnectionGater = (*gater)(nil)

// setRoster replaces the roster whose members may connect.
func (g *gater) setRoster(r *federation.Roster) { g.roster.Store(r) }

// admits reports whether p may connect now: members expire by the clock,
// not only when a new roster arrives.
func (g *gater) admits(p peer.ID) bool {
	r := g.roster.Load()
	return r == nil || r.IsMember(p.String(), time.Now())
}

func (g *gater) InterceptPeerDial(p peer.ID) bool { return g.admits(p) }

func (g *gater) InterceptAddrDial(p peer.ID, _ multiaddr.Multiaddr) bool { return g.admits(p) }

// InterceptAccept lets the handshake run: the remote's identity is known
// only once the connection is secured.
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.admits(p)
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
