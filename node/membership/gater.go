package membership

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

// Gater admits only members of the node's federation, inbound and
// outbound, once the node belongs to one. A node in no federation yet
// accepts anyone, so that it can be set up; a member never talks to a
// non-member, so a non-member learns nothing from it. Membership builds
// it and sets its roster.
type Gater struct {
	now    func() time.Time                  // set at construction
	roster atomic.Pointer[federation.Roster] // nil: no federation yet, open
}

var _ connmgr.ConnectionGater = (*Gater)(nil)

// setRoster replaces the roster whose members may connect.
func (g *Gater) setRoster(r *federation.Roster) { g.roster.Store(r) }

// Admits reports whether p may connect now: members expire by the clock,
// not only when a new roster arrives.
func (g *Gater) Admits(p peer.ID) bool {
	r := g.roster.Load()
	return r == nil || r.IsMember(p.String(), g.now())
}

// InterceptPeerDial refuses to dial non-members.
func (g *Gater) InterceptPeerDial(p peer.ID) bool { return g.Admits(p) }

// InterceptAddrDial refuses to dial non-members.
func (g *Gater) InterceptAddrDial(p peer.ID, _ multiaddr.Multiaddr) bool { return g.Admits(p) }

// InterceptAccept lets the handshake run: the remote's identity is known
// only once the connection is secured.
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses a secured connection from or to a non-member.
func (g *Gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.Admits(p)
}

// InterceptUpgraded accepts: the peer was checked when secured.
func (g *Gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
