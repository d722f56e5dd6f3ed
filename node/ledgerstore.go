package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"

	"github.com/cairn-fed/cairn/replication"
)

// restoreLedger feeds every stored attestation back to the core, which
// checks each again against the current roster.
func (n *Node) restoreLedger(ctx context.Context) error {
	now := time.Now()
	var restored, rejected int
	undecodable, err := n.repl.ledger.Each(ctx, func(a replication.Attestation) {
		var err error
		n.repl.Do(func(c *replication.Core) { err = c.ReceiveStored(a, now) })
		if err != nil {
			rejected++
			return
		}
		restored++
	})
	if err != nil {
		return err
	}
	n.logger.Debug("replica ledger restored", "attestations", restored, "rejected", rejected+undecodable)
	return nil
}

// retrackObjects tells the core about every object the index says this
// node owns or holds, so it attests them again after a restart.
func (n *Node) retrackObjects(ctx context.Context) error {
	recs, err := n.disk.index.list(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := n.retrack(ctx, r); err != nil {
			n.logger.Warn("cannot track object after restart", "cid", r.ID, "err", err)
		}
	}
	return nil
}

func (n *Node) retrack(ctx context.Context, r ObjectRecord) error {
	root, err := cid.Decode(r.ID)
	if err != nil {
		return err
	}
	blocks, err := n.objectLinks(ctx, root)
	if err != nil {
		return err
	}
	obj, now := replication.ObjectID(r.ID), time.Now()
	if n.isDeleted(r.ID) {
		return nil // kept in the trash, not tracked
	}
	// The block count is this node's own; the target is the owner's
	// policy, which an owner's node signs again if it was lost.
	opts := replication.TrackOptions{Leaves: len(blocks), Pinned: r.Role == RoleOwner, Since: r.AddedAt}
	if opts.Pinned {
		opts.Target = r.Replicas
		if err := n.setOwnPolicy(ctx, root, r.Replicas); err != nil {
			n.logger.Warn("sign the policy of an object after restart", "cid", r.ID, "err", err)
		}
	}
	n.repl.Do(func(c *replication.Core) { err = c.Track(obj, opts, now) })
	return err
}

// remove deletes an object's record from the index.
func (ix *index) remove(ctx context.Context, id string) error {
	if err := ix.ds.Delete(ctx, objectKey(id)); err != nil && !errors.Is(err, datastore.ErrNotFound) {
		return fmt.Errorf("forget object %s: %w", id, err)
	}
	return nil
}
