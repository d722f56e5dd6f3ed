package node

import (
	"context"
	"errors"

	"github.com/cairn-fed/cairn/tombstone"
)

// retryPending applies tombstones that arrived before anything else was
// known about their object.
func (n *Node) retryPending(ctx context.Context, obj string) {
	for _, p := range n.del.TakePending(obj) {
		if _, err := n.applyTombstone(ctx, p.Tombstone, p.From); err != nil && !errors.Is(err, tombstone.ErrUnknownObject) && !errors.Is(err, ErrNotDurable) {
			n.rejected.note(n.logger, "tombstone", p.From, err, "cid", p.Tombstone.Object)
		}
	}
}
