package node

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/status"
	"github.com/cairn-fed/cairn/replication"
)

// ObjectStatus is one row of `cairn status` without an argument, and of
// the dashboard's overview.
type ObjectStatus = status.Object

// StatusOverview is the answer to `cairn status`: a tally and one row per
// object this node knows of (StatusAll), or one page of rows (StatusPage).
type StatusOverview = status.Overview

var viewer, _ = netstat.NewViewer(netstat.DefaultConfig())

// Status answers "is this object safe, and where?" from the local ledger
// alone, with no network traffic. Unknown objects give ErrNotFound.
func (n *Node) Status(ctx context.Context, id string) (netstat.ObjectView, error) {
	in := n.statusInput(ctx, id)
	v, err := viewer.Object(in, time.Now())
	if err != nil {
		return netstat.ObjectView{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return v, nil
}

func (n *Node) statusInput(ctx context.Context, id string) netstat.ObjectInput {
	var in netstat.ObjectInput
	now := time.Now()
	// An object shown fully replicated is remembered so at once, not at
	// the core's next Tick: a loss right after must read "at risk", not
	// "replicating" as for an object that never got its copies.
	n.repl.Do(func(c *replication.Core) { in.Status = c.StatusRemembering(replication.ObjectID(id), now) })
	// A copy held here is dated by the core, from the index's record
	// (TrackOptions.Since): reading the encrypted record again for every
	// look of the event recorder was a tenth of an idle node's CPU.
	if in.FirstSeen = in.Status.HeldSince; in.FirstSeen.IsZero() {
		if rec, err := n.disk.index.get(ctx, id); err == nil {
			in.FirstSeen = rec.AddedAt
		}
	}
	in.Deletion = n.deletionProgress(id, now)
	in.DrillFailure = n.drillFailure(ctx, id)
	return in
}

// StatusAll summarises every object this node owns, holds or has heard
// of, one row per object in CID order.
func (n *Node) StatusAll(ctx context.Context) (StatusOverview, error) {
	objs, err := n.List(ctx)
	if err != nil {
		return StatusOverview{}, err
	}
	names := make(map[string]string, len(objs))
	for _, o := range objs {
		if o.Name != "" {
			names[o.ID] = o.Name
		}
	}
	now := time.Now()
	sums, err := n.summarise(ctx, now)
	if err != nil {
		return StatusOverview{}, err
	}
	ov := status.OverviewOf(sums, now)
	ov.Objects = make([]ObjectStatus, len(sums))
	rows := status.NewRows(viewer.Config(), now, len(sums))
	for i, s := range sums {
		ov.Objects[i] = rows.Object(s, names[s.Row.ID], i)
	}
	return ov, nil
}

// StatusPage returns the tally of every object and one page of at most
// limit rows after the cursor, most urgent first (lost, at risk, local
// only, replicating, deleting, backed up, deleted; then by CID), as the
// dashboard shows them. limit <= 0 means netstat's default page size; it
// is capped at its maximum. Only the page's rows are read in detail; the
// tally and the order come from a pass over every object, which is
// reused for a while when it is slow (see status.Cache).
func (n *Node) StatusPage(ctx context.Context, after netstat.PageCursor, limit int) (StatusOverview, error) {
	snap, err := n.statusSnapshot(ctx)
	if err != nil {
		return StatusOverview{}, err
	}
	ov := snap.Overview()
	page := viewer.Overview(snap.Rows(), after, limit)
	ov.Next = page.Next
	ov.Objects = make([]ObjectStatus, 0, len(page.Rows))
	for _, r := range page.Rows {
		ov.Objects = append(ov.Objects, n.pageRow(ctx, r))
	}
	return ov, nil
}

// pageRow describes one row of a page in full, as `cairn status CID` does.
func (n *Node) pageRow(ctx context.Context, r netstat.Row) ObjectStatus {
	row := ObjectStatus{CID: r.ID, State: r.State, Copies: r.Copies, Target: r.Target}
	if v, err := n.Status(ctx, r.ID); err == nil {
		row.State, row.Copies, row.Target, row.Regions = v.State, v.Copies, v.Target, v.Regions
		row.SafeOffline, row.VerifiedAt, row.Verified, row.Stale = v.SafeOffline, v.VerifiedAt, v.Verified, v.Stale
	}
	if rec, err := n.disk.index.get(ctx, r.ID); err == nil && len(rec.Sealed) > 0 {
		if s, err := n.disk.index.open(rec.Sealed); err == nil {
			row.Name = s.Name
		}
	}
	return row
}
