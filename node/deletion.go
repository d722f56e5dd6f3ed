package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/node/deletions"
	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// Deletion errors the API maps to clear answers.
var (
	// ErrDeleted means a tombstone deletes the object.
	ErrDeleted = errors.New("node: object is deleted")
	// ErrNotOwner means this node's owner did not add the object.
	ErrNotOwner = errors.New("node: only the owner who added an object can delete or undelete it")
	// ErrGone means the trash window has passed and the blocks are removed.
	ErrGone = errors.New("node: the object's data is gone for good")
	// ErrInvalidCID means an object ID does not parse as a CID.
	ErrInvalidCID = errors.New("node: not a valid CID")
	// ErrInvalidReason means a takedown reason is missing or unusable.
	ErrInvalidReason = errors.New("node: invalid takedown reason")
	// ErrNotDeleted means undelete was asked for a live object.
	ErrNotDeleted = errors.New("node: object is not deleted")
	// ErrNotDurable means a deletion change holds on this node, and was
	// sent to the holders, but could not be written to disk yet: the
	// deletion loop writes it again until it is, and members give it back
	// after a restart through anti-entropy.
	ErrNotDurable = errors.New("node: the change holds here and was sent to the holders, but writing it to disk failed; the node keeps trying")
)

// nodeKeys answers tombstone.Keys from the object's root block, the index
// and the roster. It locks the replication core, so it must never be
// called with the core's lock held (package deletions asks it before
// taking its own lock).
type nodeKeys struct{ n *Node }

// ObjectOwner is the key the object ID commits to (see ownership.go); for
// a format-1 object, only this node's owner's key, and only for objects
// its index says this owner added. No peer's claim enters it.
func (k nodeKeys) ObjectOwner(object string) ed25519.PublicKey {
	ctx := context.Background()
	if key := k.n.boundOwner(ctx, object); key != nil {
		return key
	}
	root, err := cid.Decode(object)
	if err != nil {
		return nil
	}
	if key, err := k.n.objectSigningKey(ctx, root); err == nil {
		return key.Public().(ed25519.PublicKey)
	}
	return nil
}

func (k nodeKeys) Authority() ed25519.PublicKey {
	if r := k.n.currentRoster(); r != nil {
		return r.AuthorityKey
	}
	return nil
}

func (k nodeKeys) HolderKey(holder string) ed25519.PublicKey {
	r := k.n.currentRoster()
	if r == nil {
		return nil
	}
	for _, m := range r.Members {
		if m.PeerID == holder {
			return m.PublicKey
		}
	}
	return nil
}

func (n *Node) newDeletions() error {
	cfg := tombstone.DefaultConfig()
	cfg.TrashWindow = n.cfg.Deletion.TrashWindow.Duration
	cfg.Retention = n.cfg.Deletion.Retention.Duration
	cfg.AckTimeout = n.cfg.Deletion.AckTimeout.Duration
	del, err := deletions.New(cfg, nodeKeys{n}, n.disk.meta, n.logger)
	if err != nil {
		return fmt.Errorf("start deletions: %w", err)
	}
	n.del = del
	n.handle(TombstoneSyncProtocol, n.handleTombstoneSync)
	return nil
}

// isDeleted reports whether a tombstone currently deletes obj.
func (n *Node) isDeleted(obj string) bool { return n.del.IsDeleted(obj) }

// DeletionResult is the answer to `cairn rm` and `cairn undelete`.
type DeletionResult struct {
	CID      string    `json:"cid"`
	Deleted  bool      `json:"deleted"`
	Version  uint64    `json:"version"`
	IssuedAt time.Time `json:"issued_at"`
	// PurgeAfter is when holders remove the blocks, unless undeleted first.
	PurgeAfter *time.Time `json:"purge_after,omitempty"`
}

// Delete signs and spreads a tombstone for an object this node's owner
// added. Deleting a deleted object changes nothing.
func (n *Node) Delete(ctx context.Context, id string) (DeletionResult, error) {
	return n.deletionResult(n.signOwnerTombstone(ctx, id, true))
}

// Undelete restores an object deleted by its owner while its blocks still
// exist (inside the trash window).
func (n *Node) Undelete(ctx context.Context, id string) (DeletionResult, error) {
	return n.deletionResult(n.signOwnerTombstone(ctx, id, false))
}

// Takedown signs, with the federation authority's key, a tombstone that
// deletes (or, with lift, restores) any member's object, with a reason
// shown to users. It runs only on a node that holds the authority key.
func (n *Node) Takedown(ctx context.Context, id, reason string, lift bool) (DeletionResult, error) {
	root, err := cid.Decode(id)
	if err != nil {
		return DeletionResult{}, fmt.Errorf("%w: %q is not a CID: %v", ErrInvalidCID, id, err)
	}
	id = root.String()
	auth, err := n.adminState(n.currentRoster())
	if err != nil {
		return DeletionResult{}, err
	}
	if !lift && reason == "" {
		return DeletionResult{}, fmt.Errorf("%w: a takedown needs a reason for the object's owner and holders", ErrInvalidReason)
	}
	entry := n.del.Entry(id)
	switch {
	case !lift && entry.Takedown.Deleted:
		return n.deletionResult(entry.Takedown, nil)
	case lift && !entry.Takedown.Deleted:
		return DeletionResult{}, fmt.Errorf("%w: no takedown applies to %s", ErrNotDeleted, id)
	}
	t := tombstone.Tombstone{Object: id, Version: entry.Takedown.Version + 1, Deleted: !lift,
		Kind: tombstone.KindTakedown, Reason: reason, IssuedAt: time.Now(), Signer: auth.PublicKey()}
	if err := t.Sign(auth.SigningKey()); err != nil {
		return DeletionResult{}, fmt.Errorf("%w: %v", ErrInvalidReason, err)
	}
	_, err = n.applyTombstone(ctx, t, "")
	if err != nil && !errors.Is(err, ErrNotDurable) {
		return DeletionResult{}, err
	}
	n.publishDeletion(ctx, t)
	return n.deletionResult(t, err)
}

func (n *Node) deletionResult(t tombstone.Tombstone, err error) (DeletionResult, error) {
	if t.Version == 0 {
		return DeletionResult{}, err
	}
	r := DeletionResult{CID: t.Object, Deleted: t.Deleted, Version: t.Version, IssuedAt: t.IssuedAt}
	if at, ok := n.del.PurgeAt(t.Object); ok {
		r.PurgeAfter = &at
	}
	return r, err
}

func (n *Node) signOwnerTombstone(ctx context.Context, id string, deleted bool) (tombstone.Tombstone, error) {
	root, err := cid.Decode(id)
	if err != nil {
		return tombstone.Tombstone{}, fmt.Errorf("%w: %q is not a CID: %v", ErrInvalidCID, id, err)
	}
	id = root.String()
	rec, err := n.disk.index.get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return tombstone.Tombstone{}, err
	}
	entry := n.del.Entry(id)
	owned := err == nil && rec.Role == RoleOwner
	key, kerr := n.objectSigningKey(ctx, root)
	if kerr != nil || (!owned && !(entry.Owner.Version > 0 && entry.Owner.Signer.Equal(key.Public()))) {
		return tombstone.Tombstone{}, fmt.Errorf("%w: %s was not added by this node's owner", ErrNotOwner, id)
	}
	switch {
	case deleted && entry.Owner.Deleted:
		return entry.Owner, nil // already deleted: nothing new to sign
	case !deleted && !entry.Owner.Deleted:
		return tombstone.Tombstone{}, fmt.Errorf("%w: %s", ErrNotDeleted, id)
	case !deleted && entry.Purged:
		return tombstone.Tombstone{}, fmt.Errorf("%w: the trash window of %s has passed and its blocks were removed; add the data again", ErrGone, id)
	}
	t := tombstone.Tombstone{Object: id, Version: entry.Owner.Version + 1, Deleted: deleted,
		Kind: tombstone.KindOwner, IssuedAt: time.Now()}
	if err := t.Sign(key); err != nil {
		return tombstone.Tombstone{}, fmt.Errorf("sign tombstone: %w", err)
	}
	if _, err := n.applyTombstone(ctx, t, ""); err != nil {
		if !errors.Is(err, ErrNotDurable) {
			return tombstone.Tombstone{}, err
		}
		n.publishDeletion(ctx, t)
		return t, err
	}
	n.publishDeletion(ctx, t)
	if !deleted && entry.Takedown.Deleted {
		return t, fmt.Errorf("%w: restored by its owner, but a takedown by the federation authority still deletes it (%s)", ErrDeleted, entry.Takedown.Reason)
	}
	return t, nil
}

// applyTombstone merges a tombstone from anywhere (this node, gossip,
// anti-entropy, storage; from names the peer it came from, or is empty)
// and carries out what changed. When the change holds but its write
// failed, it is carried out all the same (a deleted object must stop
// being served now) and the error wraps ErrNotDurable.
func (n *Node) applyTombstone(ctx context.Context, t tombstone.Tombstone, from string) (bool, error) {
	was, now, changed, err := n.del.Apply(ctx, t, from, time.Now())
	if !changed {
		return false, err
	}
	if err != nil {
		n.logger.Warn("record a tombstone", "cid", t.Object, "err", err)
		err = fmt.Errorf("%w: %v", ErrNotDurable, err)
	}
	n.catalogChanged()
	switch {
	case now && !was:
		n.deletionApplied(ctx, t.Object)
	case !now && was:
		n.deletionLifted(ctx, t.Object)
	}
	return true, err
}

// deletionApplied stops serving, counting and repairing obj, remembers
// who held it, and acknowledges when this node keeps a copy.
func (n *Node) deletionApplied(ctx context.Context, obj string) {
	now := time.Now()
	var holders []string
	n.repl.Do(func(c *replication.Core) {
		for _, h := range c.Status(replication.ObjectID(obj), now).Holders {
			if h.State != replication.HolderReleased && h.State != replication.HolderRevoked {
				holders = append(holders, string(h.Peer))
			}
		}
		c.SetDeleted(replication.ObjectID(obj), true, now)
	})
	_, err := n.disk.index.get(ctx, obj)
	held := err == nil
	if err := n.del.Applied(ctx, obj, holders); err != nil {
		n.logger.Warn("record who held a deleted object", "cid", obj, "err", err)
	}
	n.noteChanged(obj)
	n.logger.Info("deletion applied: no longer served, counted or repaired", "cid", obj)
	if held {
		n.acknowledge(ctx, obj, tombstone.PhaseApplied)
	}
}

// deletionLifted makes an undeleted object live again: served, tracked
// and counted, if its blocks are still here.
func (n *Node) deletionLifted(ctx context.Context, obj string) {
	n.repl.Do(func(c *replication.Core) { c.SetDeleted(replication.ObjectID(obj), false, time.Now()) })
	if err := n.del.Lifted(ctx, obj); err != nil {
		n.logger.Warn("forget who held an undeleted object", "cid", obj, "err", err)
	}
	if rec, err := n.disk.index.get(ctx, obj); err == nil {
		if err := n.retrack(ctx, rec); err != nil && rec.Role == RoleOwner {
			// A recovered owner's node records deleted objects with their
			// root block only: it fetches the rest back once undeleted.
			n.spawn(func(ctx context.Context) { n.fetchOwnBack(ctx, rec) })
		} else if err != nil {
			n.logger.Warn("track undeleted object", "cid", obj, "err", err)
		}
	}
	n.noteChanged(obj)
	n.logger.Info("object undeleted", "cid", obj)
}

// acknowledge signs, records and spreads this node's acknowledgement of
// every lane that currently deletes obj.
func (n *Node) acknowledge(ctx context.Context, obj string, phase tombstone.Phase) {
	entry := n.del.Entry(obj)
	for _, t := range []tombstone.Tombstone{entry.Owner, entry.Takedown} {
		if !t.Deleted {
			continue
		}
		a := tombstone.Ack{Object: obj, Kind: t.Kind, Version: t.Version, Holder: n.net.host.ID().String(), Phase: phase, At: time.Now()}
		if err := a.Sign(n.keys.node); err != nil {
			n.logger.Warn("sign deletion acknowledgement", "cid", obj, "err", err)
			continue
		}
		if _, err := n.applyAck(ctx, a); err != nil && !errors.Is(err, ErrNotDurable) {
			n.logger.Warn("record own acknowledgement", "cid", obj, "err", err)
			continue
		}
		n.publishDeletion(ctx, a) // true now; written again if the write failed
	}
}

// applyAck merges a holder's acknowledgement and persists it.
func (n *Node) applyAck(ctx context.Context, a tombstone.Ack) (bool, error) {
	changed, err := n.del.ApplyAck(ctx, a, time.Now())
	if !changed {
		return false, err
	}
	if err != nil {
		n.logger.Warn("record an acknowledgement", "cid", a.Object, "err", err)
		err = fmt.Errorf("%w: %v", ErrNotDurable, err)
	}
	n.noteChanged(a.Object)
	return true, err
}

// restoreDeletions applies the stored deletion state and tells the
// replication core which objects are deleted. It runs after the replica
// ledger is restored (owner keys come from attestations) and before any
// object is tracked.
func (n *Node) restoreDeletions(ctx context.Context) error {
	now := time.Now()
	deleted, err := n.del.Restore(ctx, now)
	if err != nil {
		return fmt.Errorf("restore deletions: %w", err)
	}
	n.repl.Do(func(c *replication.Core) {
		for _, obj := range deleted {
			c.SetDeleted(replication.ObjectID(obj), true, now)
		}
	})
	return nil
}
