package node

import (
	"context"
	"errors"
	"fmt"
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
	delay, tries := catchUpFirstDelay, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, catchUpMaxDelay)
		tries++
		report, err := n.catchUpOnce(ctx)
		if err != nil {
			// Say it at once, then at most every few minutes: the
			// catalog stays held until this succeeds.
			if tries == 1 || tries%5 == 0 {
				n.logger.Warn("restored node: not caught up with the federation yet; its catalog waits", "err", err, "next_try_in", delay)
			}
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

// Delays between catch-up attempts: doubling from the first to the most.
const (
	catchUpFirstDelay = time.Second
	catchUpMaxDelay   = time.Minute
)

// errTooFewAnswered: fewer members answered the catalog request than a
// catch-up needs, so the newest head may be one none of them had.
var errTooFewAnswered = errors.New("too few members answered for the owner's catalog; it waits for more (see cairn peers)")

// catchUpOnce makes one attempt. It counts only when at least half of
// the other members answered: the head this node kept is the snapshot's,
// and settling for one lagging member's word would let the next version
// leave out what was added since.
func (n *Node) catchUpOnce(ctx context.Context) (RecoverReport, error) {
	quorum := 1
	if r := n.currentRoster(); r != nil {
		others := len(r.CurrentMembers(time.Now())) - 1
		quorum = max(1, (others+1)/2)
	}
	if c := n.connectedMembers(); c < quorum {
		return RecoverReport{}, fmt.Errorf("%d of the %d members needed are connected: %w", c, quorum, errTooFewAnswered)
	}
	report, err := n.Recover(ctx, n.ownerKeys(), RecoverOptions{})
	switch {
	case report.MembersAsked < quorum && (err == nil || errors.Is(err, ErrNoCatalog)):
		return report, fmt.Errorf("%d of the %d members needed answered: %w", report.MembersAsked, quorum, errTooFewAnswered)
	case errors.Is(err, ErrNoCatalog):
		// Enough members answered and none keeps a head: the owner's
		// node was lost before it wrote a first version, so there is
		// nothing newer to learn.
		return report, nil
	}
	return report, err
}

// restored reports whether the node was restored from a snapshot and has
// not caught up yet.
func (n *Node) restored() bool {
	_, err := os.Stat(n.disk.repo.Path(repo.RestoredFile))
	return err == nil
}
