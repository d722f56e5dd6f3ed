package node

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/cairn-fed/cairn/node/repo"
)

// catchUp runs on a node restored from a snapshot (repo.RestoredFile
// marks it): the snapshot holds the node as it was at one instant, and
// what its owner did since (objects added or deleted on this node before
// it was lost) is in the federation. Once a member is connected, it
// learns the tombstones it lacks and walks the owner's catalog from the
// newest head (Recover with the node's own owner key), restoring what
// was added since the snapshot; deletions applied before the snapshot
// stay in its index, so nothing deleted comes back. The mark goes when
// that succeeded; until then it tries again, at most a minute apart.
func (n *Node) catchUp(ctx context.Context) {
	if !n.restored() {
		return
	}
	n.logger.Info("restored from a snapshot: catching up with the federation")
	delay := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Minute)
		if len(n.net.host.Network().Peers()) == 0 {
			continue
		}
		report, err := n.Recover(ctx, n.ownerKeys(), RecoverOptions{})
		if owns, lerr := n.ownsObjects(ctx); errors.Is(err, ErrNoCatalog) && lerr == nil && !owns {
			err = nil // an owner who never added anything has no catalog
		}
		if err != nil {
			n.logger.Warn("catch up after a restore; trying again", "err", err, "in", delay)
			continue
		}
		n.cat.mu.Lock()
		n.cat.held = false
		n.cat.mu.Unlock()
		if err := os.Remove(n.disk.repo.Path(repo.RestoredFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			n.logger.Warn("catch up after a restore: remove the mark", "err", err)
		}
		n.logger.Info("caught up after a restore", "catalog_version", report.CatalogVersion,
			"objects", len(report.Restored), "unreachable", len(report.Unreachable))
		return
	}
}

// restored reports whether the node was restored from a snapshot and has
// not caught up yet.
func (n *Node) restored() bool {
	_, err := os.Stat(n.disk.repo.Path(repo.RestoredFile))
	return err == nil
}

// ownsObjects reports whether the index records an object of the owner.
func (n *Node) ownsObjects(ctx context.Context) (bool, error) {
	recs, err := n.disk.index.list(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		if r.Role == RoleOwner {
			return true, nil
		}
	}
	return false, nil
}
