package node

import (
	"context"
	"fmt"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/cairn-fed/cairn/node/blockstore"
	"github.com/cairn-fed/cairn/tombstone"
)

// serves reports whether the block may be handed to peers (see
// deletions.State.Serves).
func (n *Node) serves(c cid.Cid) bool { return n.del.Serves(c) }

// purgeDue removes the blocks of objects whose trash window has passed,
// keeping blocks another live object still uses, and acknowledges.
func (n *Node) purgeDue(ctx context.Context, now time.Time) {
	due := n.del.DuePurges(now)
	for _, obj := range due {
		_, err := n.disk.index.get(ctx, obj)
		held := err == nil
		if err := n.removeObject(ctx, obj); err != nil {
			n.logger.Warn("purge deleted object", "cid", obj, "err", err)
			continue
		}
		if err := n.del.MarkPurged(ctx, obj, now); err != nil {
			n.logger.Warn("record a purge", "cid", obj, "err", err)
		}
		n.noteChanged(obj)
		n.catalogChanged()
		n.logger.Info("deleted object purged: its blocks are gone", "cid", obj)
		if held {
			n.acknowledge(ctx, obj, tombstone.PhasePurged)
		}
	}
}

// removeObject forgets an object kept here and deletes the blocks no
// other kept object uses.
func (n *Node) removeObject(ctx context.Context, obj string) error {
	if err := n.disk.index.remove(ctx, obj); err != nil {
		return err
	}
	freed := n.del.Remove(obj)
	n.repl.links.Forget(obj)
	for _, c := range freed {
		if err := n.disk.blocks.DeleteBlock(ctx, c); err != nil {
			return fmt.Errorf("remove block %s of %s: %w", c, obj, err)
		}
		n.del.Forget(c)
	}
	return nil
}

// servedBlocks is the block store as bitswap sees it: blocks that must not
// leave this node (see Node.serves) are reported missing.
type servedBlocks struct {
	*blockstore.Store
	serves func(cid.Cid) bool
}

func (s servedBlocks) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if !s.serves(c) {
		return false, nil
	}
	return s.Store.Has(ctx, c)
}

func (s servedBlocks) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	if !s.serves(c) {
		return -1, ipld.ErrNotFound{Cid: c}
	}
	return s.Store.GetSize(ctx, c)
}

func (s servedBlocks) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if !s.serves(c) {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	return s.Store.Get(ctx, c)
}

// deletionLoop purges objects whose trash window has passed, compacts old
// tombstones and records that the node is online, until Close.
func (n *Node) deletionLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastCompact time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n.del.RetryUnsaved(ctx)
			n.purgeDue(ctx, now)
			if now.Sub(lastCompact) >= time.Minute {
				if err := n.del.Compact(ctx, now); err != nil {
					n.logger.Warn("record when this node was last online", "err", err)
				}
				lastCompact = now
			}
		}
	}
}
