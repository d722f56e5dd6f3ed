package node

import (
	"context"
	"errors"

	"github.com/cairn-fed/cairn/tombstone"
)

// Tombstones that arrive before this node knows their object's owner key
// wait in memory, bounded in all, per object and per sending peer, and are
// applied (so verified) when the object's attestations arrive.

// Bounds on the tombstones waiting: in all, per object (gossip repeats,
// a few suffice), per sending peer (one member cannot crowd out others).
const (
	maxPendingTombstones = 10000
	maxPendingPerObject  = 4
	maxPendingPerPeer    = 1000
)

// pendingTombstone is a tombstone waiting for its object's owner key, and
// the peer it came from (empty: this node's own storage).
type pendingTombstone struct {
	t    tombstone.Tombstone
	from string
}

// awaitOwner keeps a tombstone whose object's owner is not known yet, to
// be applied (and so verified) when the object's attestations arrive. It
// keeps at most maxPendingPerPeer from one peer: what is dropped comes
// again with the periodic tombstone anti-entropy.
func (d *deletions) awaitOwner(t tombstone.Tombstone, from string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.awaitOwnerLocked(t, from)
}

// awaitOwnerLocked is awaitOwner for callers that hold d.mu.
func (d *deletions) awaitOwnerLocked(t tombstone.Tombstone, from string) {
	if len(d.pending) >= maxPendingTombstones || len(d.pending[t.Object]) >= maxPendingPerObject ||
		(from != "" && d.pendingBy[from] >= maxPendingPerPeer) {
		return
	}
	d.pending[t.Object] = append(d.pending[t.Object], pendingTombstone{t, from}) // gossip repeats: a few suffice
	if from != "" {
		d.pendingBy[from]++
	}
}

// takePending removes and returns the tombstones waiting for obj.
func (d *deletions) takePending(obj string) []pendingTombstone {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := d.pending[obj]
	delete(d.pending, obj)
	for _, p := range ps {
		if p.from != "" {
			if d.pendingBy[p.from]--; d.pendingBy[p.from] <= 0 {
				delete(d.pendingBy, p.from)
			}
		}
	}
	return ps
}

// retryPending applies tombstones that arrived before anything else was
// known about their object.
func (n *Node) retryPending(ctx context.Context, obj string) {
	for _, p := range n.del.takePending(obj) {
		if _, err := n.applyTombstone(ctx, p.t, p.from); err != nil && !errors.Is(err, tombstone.ErrUnknownObject) {
			n.rejected.note(n.logger, "tombstone", p.from, err, "cid", p.t.Object)
		}
	}
}
