package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-datastore/query"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/status"
	"github.com/cairn-fed/cairn/replication"
)

// statusSnapshot returns a recent enough pass, making one if needed
// (see status.Cache for when).
func (n *Node) statusSnapshot(ctx context.Context) (*status.Snapshot, error) {
	snap, next := n.status.Plan(time.Now())
	switch next {
	case status.PassNow:
		return n.statusPass(ctx)
	case status.Refresh:
		n.spawn(func(ctx context.Context) {
			defer n.status.Refreshed()
			if _, err := n.statusPass(ctx); err != nil && ctx.Err() == nil {
				n.logger.Warn("status overview pass", "err", err)
			}
		})
	}
	return snap, nil
}

// warmStatus makes a first pass in the background once the ledger is
// restored, so that over a large ledger not even the first `cairn status`
// after a start waits for one.
func (n *Node) warmStatus(ctx context.Context) {
	if _, err := n.statusPass(ctx); err != nil && ctx.Err() == nil {
		n.logger.Warn("status overview pass", "err", err)
	}
}

// statusPass makes a pass over every object and keeps it.
func (n *Node) statusPass(ctx context.Context) (*status.Snapshot, error) {
	start := time.Now()
	sums, err := n.summarise(ctx, start)
	if err != nil {
		return nil, err
	}
	snap := status.NewSnapshot(sums, start, time.Since(start))
	n.status.Keep(snap)
	return snap, nil
}

// summaryChunk is how many objects one hold of the replication lock
// covers, so that a pass over a million objects never stalls replication
// for long.
const summaryChunk = 1024

// summarise derives the state of every object this node knows of at now,
// in CID order. The replication core says most, in one pass over its
// objects that allocates nothing per object; a deletion, and the
// object's age when its state depends on it (a new object below its
// target), are looked up for the objects that need them.
func (n *Node) summarise(ctx context.Context, now time.Time) ([]status.Summary, error) {
	indexed, err := n.indexedIDs(ctx)
	if err != nil {
		return nil, err
	}
	ids := n.status.Sorted(n.repl.Read)
	sums, err := n.summariseIDs(ctx, ids, now, make([]status.Summary, 0, len(ids)))
	if err != nil {
		return nil, err
	}
	if sums, err = n.addIndexed(ctx, sums, indexed, now); err != nil {
		return nil, err
	}
	n.settleDeletions(sums, now)
	for i := range sums {
		if sums[i].Indexed {
			n.settleAge(ctx, &sums[i], now)
		}
	}
	if err := n.settleDrills(ctx, sums); err != nil {
		return nil, err
	}
	return sums, nil
}

// summariseIDs appends the summaries of ids, in their order, reading the
// core a chunk at a time.
func (n *Node) summariseIDs(ctx context.Context, ids []replication.ObjectID, now time.Time, sums []status.Summary) ([]status.Summary, error) {
	ovs := make([]replication.Overview, 0, min(summaryChunk, len(ids)))
	for start := 0; start < len(ids); start += summaryChunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		chunk := ids[start:min(start+summaryChunk, len(ids))]
		n.repl.Read(func(c *replication.Core) { ovs = c.Overviews(ovs[:0], chunk, now) })
		for _, o := range ovs {
			sums = append(sums, status.SummaryOf(o))
		}
	}
	return sums, nil
}

// addIndexed marks the summaries of objects in the index (sorted) and
// adds those the core did not list.
func (n *Node) addIndexed(ctx context.Context, sums []status.Summary, indexed []string, now time.Time) ([]status.Summary, error) {
	var missing []replication.ObjectID
	i := 0
	for _, id := range indexed {
		for i < len(sums) && sums[i].Row.ID < id {
			i++
		}
		if i < len(sums) && sums[i].Row.ID == id {
			sums[i].Indexed = true
		} else if len(missing) == 0 || string(missing[len(missing)-1]) != id {
			missing = append(missing, replication.ObjectID(id))
		}
	}
	if len(missing) == 0 {
		return sums, nil
	}
	extra, err := n.summariseIDs(ctx, missing, now, nil)
	if err != nil {
		return nil, err
	}
	for j := range extra {
		extra[j].Indexed = true
	}
	return status.Merge(sums, extra), nil
}

// settleDeletions gives deleted objects their deletion state. It asks
// the tombstone set about a chunk of objects per hold of its lock.
func (n *Node) settleDeletions(sums []status.Summary, now time.Time) {
	var deleted []int
	ids := make([]string, 0, summaryChunk)
	for start := 0; start < len(sums); start += summaryChunk {
		ids = ids[:0]
		for _, s := range sums[start:min(start+summaryChunk, len(sums))] {
			ids = append(ids, s.Row.ID)
		}
		for _, i := range n.del.Deleted(ids) {
			deleted = append(deleted, start+i)
		}
	}
	for _, i := range deleted {
		p := n.deletionProgress(sums[i].Row.ID, now)
		if p.Deleted {
			sums[i].Row.State = viewer.State(netstat.ObjectInput{Deletion: p}, now)
		}
	}
}

// settleAge re-derives the state of a live object whose state depends on
// its age, from when this node added or fetched it (unknown: past the
// grace). The core knows that of the copies it holds; the index is read
// only for the others, so that a pass during a burst of new objects does
// not read and decrypt each one's record.
func (n *Node) settleAge(ctx context.Context, s *status.Summary, now time.Time) {
	if s.Row.State == netstat.StateDeleting || s.Row.State == netstat.StateDeleted || s.Young == s.Row.State {
		return
	}
	firstSeen := time.UnixMilli(s.HeldSince)
	if s.HeldSince == 0 {
		rec, err := n.disk.index.get(ctx, s.Row.ID)
		if err != nil {
			return
		}
		firstSeen = rec.AddedAt
	}
	if !viewer.Facts(netstat.ObjectInput{FirstSeen: firstSeen}, now).PastGrace {
		s.Row.State = s.Young
	}
}

// indexedIDs lists, sorted, the objects in the index.
func (n *Node) indexedIDs(ctx context.Context) ([]string, error) {
	res, err := n.disk.meta.Query(ctx, query.Query{Prefix: "/objects/", KeysOnly: true})
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	defer res.Close()
	var indexed []string
	for e := range res.Next() {
		if e.Error != nil {
			return nil, fmt.Errorf("list objects: %w", e.Error)
		}
		indexed = append(indexed, strings.TrimPrefix(e.Key, "/objects/"))
	}
	slices.Sort(indexed)
	return indexed, nil
}
