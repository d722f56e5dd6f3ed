package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/cairn-fed/cairn/replication"
)

// The replica ledger is kept in the node's datastore, one entry per
// (object, holder): the latest attestation, in its canonical signed form.
// On start every entry goes back through the core's Receive, which checks
// it again against the current roster.

const ledgerPrefix = "/ledger/"

func ledgerKey(a replication.Attestation) datastore.Key {
	return datastore.NewKey(ledgerPrefix + string(a.Object) + "/" + string(a.Holder))
}

// storeAttestation persists an attestation the node published or accepted.
func (n *Node) storeAttestation(ctx context.Context, a replication.Attestation) error {
	data, err := a.MarshalBinary()
	if err == nil {
		err = n.meta.Put(ctx, ledgerKey(a), data)
	}
	if err != nil {
		return fmt.Errorf("persist attestation of %s by %s: %w", a.Object, a.Holder, err)
	}
	return nil
}

// restoreLedger feeds every stored attestation back to the core.
func (n *Node) restoreLedger(ctx context.Context) error {
	res, err := n.meta.Query(ctx, query.Query{Prefix: ledgerPrefix})
	if err != nil {
		return fmt.Errorf("read replica ledger: %w", err)
	}
	defer res.Close()
	now := time.Now()
	var restored, rejected int
	for e := range res.Next() {
		if e.Error != nil {
			return fmt.Errorf("read replica ledger: %w", e.Error)
		}
		a, err := replication.DecodeAttestation(e.Value)
		if err == nil {
			n.repl.do(func(c *replication.Core) { err = c.ReceiveStored(a, now) })
		}
		if err != nil {
			rejected++
			continue
		}
		restored++
	}
	n.logger.Debug("replica ledger restored", "attestations", restored, "rejected", rejected)
	return nil
}

// retrackObjects tells the core about every object the index says this
// node owns or holds, so it attests them again after a restart.
func (n *Node) retrackObjects(ctx context.Context) error {
	recs, err := n.index.list(ctx)
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
	opts := replication.TrackOptions{Leaves: len(blocks), Pinned: r.Role == RoleOwner}
	if opts.Pinned {
		opts.Target = r.Replicas
		if err := n.setOwnPolicy(ctx, root, r.Replicas); err != nil {
			n.logger.Warn("sign the policy of an object after restart", "cid", r.ID, "err", err)
		}
	}
	n.repl.do(func(c *replication.Core) { err = c.Track(obj, opts, now) })
	return err
}

// remove deletes an object's record from the index.
func (ix *index) remove(ctx context.Context, id string) error {
	if err := ix.ds.Delete(ctx, objectKey(id)); err != nil && !errors.Is(err, datastore.ErrNotFound) {
		return fmt.Errorf("forget object %s: %w", id, err)
	}
	return nil
}
