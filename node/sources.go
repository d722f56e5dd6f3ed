package node

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/replication"
)

// Finding the members to fetch an object from. Members do not announce
// the objects they hold in the DHT (one lookup per object per holder was
// the largest CPU cost of adding objects): the ledger names the holders
// this node has heard of, and placement's ranking names the members the
// owner's node placed the object on and repair looks at first
// (replication.Core.Sources), so a member that never heard of an object
// still knows whom to ask. The DHT only finds members' addresses.

// maxSources bounds the members dialled ahead of one fetch.
const maxSources = 8

// dialSources dials, ahead of a fetch of root, the members that hold it
// or should.
func (n *Node) dialSources(root cid.Cid) {
	var sources []replication.PeerID
	n.repl.Read(func(c *replication.Core) { sources = c.Sources(replication.ObjectID(root.String()), maxSources) })
	n.dialAhead(sources)
}

// dialAhead dials the given members that are not connected, alongside a
// fetch rather than before it: bitswap asks whoever is connected, and a
// member that is down or cut off would hold the fetch up for a whole dial
// timeout.
func (n *Node) dialAhead(peers []replication.PeerID) {
	for _, p := range peers {
		id, err := peer.Decode(string(p))
		if err != nil || id == n.net.host.ID() || n.net.host.Network().Connectedness(id) == network.Connected {
			continue
		}
		n.spawn(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, memberDialTimeout)
			defer cancel()
			n.net.host.Connect(ctx, peer.AddrInfo{ID: id})
		})
	}
}
