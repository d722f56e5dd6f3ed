package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/catalog"
	"github.com/cairn-fed/cairn/internal/object"
)

// Restoring a recovered listing: each object fetched and pinned again,
// or recorded for undelete, eight at a time.

// restoreParallel is how many objects recovery restores at once: each
// waits mostly on a holder's answer and on syncs of its own.
const restoreParallel = 8

// restoreAll restores entries, restoreParallel at a time, and returns
// what became of each, in the entries' order.
func (n *Node) restoreAll(ctx context.Context, entries []catalog.Entry) []RecoveredObject {
	results := make([]RecoveredObject, len(entries))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(restoreParallel, len(entries)) {
		wg.Go(func() {
			for i := range work {
				results[i] = n.restoreOne(ctx, entries[i])
			}
		})
	}
	for i := range entries {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	return results
}

// restoreOne restores one entry and forgets it as carried once restored.
func (n *Node) restoreOne(ctx context.Context, e catalog.Entry) RecoveredObject {
	got := RecoveredObject{CID: e.Object, Name: e.Name}
	deleted, err := n.restoreEntry(ctx, e)
	got.Deleted = deleted
	if err == nil {
		err = n.dropCarried(ctx, e.Object)
	}
	if err != nil {
		got.Error = err.Error()
	}
	return got
}

// restoreEntry restores one object of the recovered listing and reports
// whether it is deleted. A live object is fetched and pinned; a deleted
// one (in the trash) is recorded with its root block only, so that
// `cairn undelete` can sign for it.
func (n *Node) restoreEntry(ctx context.Context, e catalog.Entry) (bool, error) {
	defer n.writingBlocks()() // until its blocks are counted (blockgate.go)
	root, err := n.checkEntry(e)
	if err != nil {
		return false, err
	}
	b, err := blocks.NewBlockWithCid(e.Root, root)
	if err != nil {
		return false, fmt.Errorf("root block of %s: %w", root, err)
	}
	if err := n.disk.blocks.Put(ctx, b); err != nil {
		return false, fmt.Errorf("store root block of %s: %w", root, err)
	}
	// The root block names the object's owner key: owner tombstones that
	// waited for it (a fresh node knows no owner) apply now.
	n.retryPending(ctx, e.Object)
	// The catalog's word that it was deleted counts too: the tombstone
	// may not be here yet, and a node with the blocks (restored from a
	// snapshot with them) would otherwise track the object again.
	deleted := n.isDeleted(e.Object) || e.DeletedAt != nil
	if !deleted {
		if err := n.fetch(ctx, root); err != nil {
			// Members do not serve a deleted object: a tombstone heard
			// meanwhile, or a deletion the catalog knows, explains it.
			if e.DeletedAt == nil && !n.isDeleted(e.Object) {
				return false, fmt.Errorf("no connected member serves it: %w", err)
			}
			deleted = true
		}
	}
	sealed, err := n.disk.index.seal(ownerSecrets{Name: e.Name, Capability: e.Capability})
	if err != nil {
		return deleted, err
	}
	rec := ObjectRecord{ID: e.Object, Role: RoleOwner, Encrypted: e.Encrypted, Size: e.Size,
		StoredBytes: e.Size, Replicas: e.Target, AddedAt: e.AddedAt, Sealed: sealed}
	if dag, ok := object.DAGOfRoot(e.Root); ok {
		rec.DAG = dag.String()
	}
	if err := n.disk.index.put(ctx, rec); err != nil {
		return deleted, err
	}
	n.noteChanged(e.Object)
	if deleted {
		return true, nil
	}
	return false, n.trackAdded(ctx, root, e.Target, e.AddedAt)
}

// checkEntry checks that a catalog entry names an object of this owner:
// its root block hashes to its ID and commits to a key this owner derives
// (objects of format 1 commit to none).
func (n *Node) checkEntry(e catalog.Entry) (cid.Cid, error) {
	root, err := cid.Decode(e.Object)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: object id %q: %v", catalog.ErrMalformed, e.Object, err)
	}
	if c, err := object.ParseCapability(e.Capability); err != nil || !c.Root().Equals(root) {
		return root, fmt.Errorf("%w: the capability of %s does not name it", catalog.ErrMalformed, root)
	}
	if _, err := object.BoundOwner(root, e.Root); err != nil && !errors.Is(err, object.ErrNoBoundOwner) {
		return root, fmt.Errorf("root block of %s: %w", root, err)
	}
	if _, err := object.OwnerKey(n.ownerKeys().ObjectSecret(), e.Root); err != nil && !errors.Is(err, object.ErrNoBoundOwner) {
		return root, fmt.Errorf("%s: %w", root, err)
	}
	return root, nil
}

// fetchOwnBack fetches an object of the owner's that this node records
// but whose blocks it lacks (an object recovered while deleted, then
// undeleted), and tracks it again.
func (n *Node) fetchOwnBack(ctx context.Context, rec ObjectRecord) {
	defer n.writingBlocks()() // until its blocks are counted (blockgate.go)
	root, err := cid.Decode(rec.ID)
	if err == nil {
		err = n.fetch(ctx, root)
	}
	if err == nil {
		err = n.retrack(ctx, rec)
	}
	if err != nil && ctx.Err() == nil {
		n.logger.Warn("fetch an undeleted object back", "cid", rec.ID, "err", err)
	}
}
