package node

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/tombstone"
)

// deletionProgress is the status input for obj's deletion.
func (n *Node) deletionProgress(obj string, now time.Time) tombstone.Progress {
	n.del.mu.Lock()
	holders := n.del.holders[obj]
	deleted := n.del.set.IsDeleted(obj)
	n.del.mu.Unlock()
	if !deleted {
		return tombstone.Progress{Object: obj, Now: now}
	}
	seen := map[string]time.Time{}
	for _, h := range holders {
		id, err := peer.Decode(h)
		if err != nil {
			continue
		}
		if n.host.Network().Connectedness(id) == network.Connected {
			seen[h] = now
		} else if at, ok := n.lastSeen(id); ok {
			seen[h] = at
		}
	}
	seen[n.host.ID().String()] = now
	n.del.mu.Lock()
	defer n.del.mu.Unlock()
	return n.del.set.Progress(obj, holders, seen, now)
}

// deletionHealth counts the deletions some holder has not acknowledged,
// how long the oldest has waited, and the holders past deletion.ack_timeout.
func (n *Node) deletionHealth(now time.Time) tombstoneHealth {
	d := n.del
	d.mu.Lock()
	defer d.mu.Unlock()
	var h tombstoneHealth
	for _, t := range d.set.Tombstones() {
		if !t.Deleted || !d.set.IsDeleted(t.Object) {
			continue
		}
		p := d.set.Progress(t.Object, d.holders[t.Object], nil, now)
		if p.DeletedOn < p.Holders {
			h.Pending++
			h.Lag = max(h.Lag, now.Sub(t.IssuedAt))
		}
	}
	h.Laggards = d.set.Laggards(now, func(obj string) []string { return d.holders[obj] })
	return h
}
