package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/multiformats/go-multiaddr"
)

// Identity is a node's peer ID and the addresses peers can dial.
type Identity struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	// PinsAPI is the URL of the IPFS Pinning Service API, when it runs.
	PinsAPI string `json:"pins_api,omitempty"`
}

// ID returns the node's identity with full /p2p/ addresses.
func (n *Node) ID() Identity {
	id := Identity{PeerID: n.net.host.ID().String()}
	if u := n.net.pinsAPI.Load(); u != nil {
		id.PinsAPI = *u
	}
	for _, a := range n.net.host.Addrs() {
		id.Addrs = append(id.Addrs, a.String()+"/p2p/"+id.PeerID)
	}
	return id
}

// SetPinsAPI records the URL the Pinning Service API answers at, for ID.
func (n *Node) SetPinsAPI(url string) { n.net.pinsAPI.Store(&url) }

// ErrBadAddress means a peer address cannot be dialled as written.
var ErrBadAddress = errors.New("connect: bad address")

// Connect dials a peer given a multiaddr with a /p2p/PEER_ID part.
func (n *Node) Connect(ctx context.Context, addr string) error {
	ma, err := multiaddr.NewMultiaddr(addr)
	if err != nil {
		return fmt.Errorf("%w: %q is not a multiaddr: %v", ErrBadAddress, addr, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(ma)
	if err != nil {
		return fmt.Errorf("%w: %q needs a /p2p/PEER_ID part: %v", ErrBadAddress, addr, err)
	}
	if info.ID == n.net.host.ID() {
		return fmt.Errorf("%w: %s is this node itself", ErrBadAddress, info.ID)
	}
	if !n.fed.Admits(info.ID) {
		return fmt.Errorf("connect to %s: it is not a member of this node's federation (see `cairn federation show`), and members talk only to members; "+
			"to admit it, run `cairn federation admit %s --operator ORG --region REGION` where the authority key is kept", info.ID, info.ID)
	}
	if err := n.net.host.Connect(ctx, *info); err != nil {
		if n.net.private {
			return fmt.Errorf("connect to %s: %w (this node uses the private-network key of swarm.psk_file: a peer with a different key, or none, fails exactly like this; check that both use the same key file)", info.ID, err)
		}
		return fmt.Errorf("connect to %s: %w", info.ID, err)
	}
	return n.confirm(ctx, info.ID)
}

// confirm pings a freshly connected peer: a federation member that does
// not admit this node completes the handshake and then drops the
// connection, which the dialer only notices on first use.
func (n *Node) confirm(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res := <-ping.Ping(ctx, n.net.host, p)
	if res.Error != nil {
		n.net.host.Network().ClosePeer(p)
		if !n.inFederation() {
			return fmt.Errorf("connect to %s: it closed the connection at once (%v), as members do with nodes not admitted to their federation: %w", p, res.Error, ErrNoFederation)
		}
		return fmt.Errorf("connect to %s: it closed the connection at once (%v); it accepts only members of its federation: is it in this node's federation (`cairn federation show`), and is this node not revoked?", p, res.Error)
	}
	return nil
}

// Peer is a connected peer.
type Peer struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
}

// Peers lists connected peers.
func (n *Node) Peers() []Peer {
	var out []Peer
	for _, p := range n.net.host.Network().Peers() {
		pe := Peer{PeerID: p.String()}
		for _, c := range n.net.host.Network().ConnsToPeer(p) {
			pe.Addrs = append(pe.Addrs, c.RemoteMultiaddr().String())
		}
		out = append(out, pe)
	}
	return out
}
