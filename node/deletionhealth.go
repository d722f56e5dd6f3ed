package node

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/tombstone"
)

// deletionProgress is the status input for obj's deletion: holders
// connected now count as seen now, this node too.
func (n *Node) deletionProgress(obj string, now time.Time) tombstone.Progress {
	self := n.net.host.ID().String()
	return n.del.Progress(obj, now, func(h string) (time.Time, bool) {
		if h == self {
			return now, true
		}
		id, err := peer.Decode(h)
		if err != nil {
			return time.Time{}, false
		}
		if n.net.host.Network().Connectedness(id) == network.Connected {
			return now, true
		}
		return n.lastSeen(id)
	})
}
