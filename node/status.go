package node

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// ObjectStatus is one row of `cairn status` without an argument, and of
// the dashboard's overview.
type ObjectStatus struct {
	CID    string        `json:"cid"`
	State  netstat.State `json:"state"`
	Copies int           `json:"copies"`
	Target int           `json:"target"`
	Name   string        `json:"name,omitempty"` // owned objects only
	// Regions counts distinct regions among verified copies.
	Regions int `json:"regions"`
	// SafeOffline: a verified copy lives on a node other than the owner's.
	SafeOffline bool `json:"safe_offline"`
	// VerifiedAt is the oldest verification among the counted remote
	// copies, and Verified says it for people ("verified 3 min ago", with
	// " (stale)" when old); both absent when no remote copy counts.
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	Verified   string     `json:"verified,omitempty"`
	Stale      bool       `json:"stale"`
}

// StatusOverview is the answer to `cairn status`: a tally and one row per
// object this node knows of (StatusAll), or one page of rows (StatusPage).
type StatusOverview struct {
	Tally   netstat.Tally  `json:"tally"`
	Summary string         `json:"summary"`
	Objects []ObjectStatus `json:"objects"`
	// Next asks for the following page; "" on the last page and in the
	// unpaged listing.
	Next netstat.PageCursor `json:"next"`
	// SafeOffline: every live object this node owns has a verified copy
	// on another node, so this node may go offline. NotSafeOffline counts
	// the owned objects that have none yet.
	SafeOffline    bool `json:"safe_offline"`
	NotSafeOffline int  `json:"not_safe_offline"`
	// AsOf is when the tally was counted. A page's rows are read when it
	// is served; over many objects the tally may be a few seconds older.
	AsOf time.Time `json:"as_of"`
}

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
	n.repl.Read(func(c *replication.Core) { in.Status = c.Status(replication.ObjectID(id), now) })
	if rec, err := n.index.get(ctx, id); err == nil {
		in.FirstSeen = rec.AddedAt
	}
	in.Deletion = n.deletionProgress(id, now)
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
	tally, notSafe := count(sums)
	ov := overviewOf(tally, notSafe, now)
	ov.Objects = make([]ObjectStatus, len(sums))
	rows := rowMaker{now: now, times: make([]time.Time, len(sums)), labels: map[labelKey]string{}}
	for i, s := range sums {
		ov.Objects[i] = rows.status(s, names[s.row.ID], i)
	}
	return ov, nil
}

// StatusPage returns the tally of every object and one page of at most
// limit rows after the cursor, most urgent first (lost, at risk, local
// only, replicating, deleting, backed up, deleted; then by CID), as the
// dashboard shows them. limit <= 0 means netstat's default page size; it
// is capped at its maximum. Only the page's rows are read in detail; the
// tally and the order come from a pass over every object, which is
// reused for a while when it is slow (see statusCache).
func (n *Node) StatusPage(ctx context.Context, after netstat.PageCursor, limit int) (StatusOverview, error) {
	snap, err := n.statusSnapshot(ctx)
	if err != nil {
		return StatusOverview{}, err
	}
	ov := snap.overview()
	page := viewer.Overview(snap.rows(), after, limit)
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
	if rec, err := n.index.get(ctx, r.ID); err == nil && len(rec.Sealed) > 0 {
		if s, err := n.index.open(rec.Sealed); err == nil {
			row.Name = s.Name
		}
	}
	return row
}

// statusSnapshot is one pass over every object: the rows the overview
// pages through, and what it counts.
type statusSnapshot struct {
	sums           []objectSummary
	tally          netstat.Tally
	notSafeOffline int
	at             time.Time     // when the pass read the ledger
	took           time.Duration // how long the pass took
}

func newSnapshot(sums []objectSummary, at time.Time, took time.Duration) *statusSnapshot {
	s := &statusSnapshot{sums: sums, at: at, took: took}
	s.tally, s.notSafeOffline = count(sums)
	return s
}

// rows yields the row of every object.
func (s *statusSnapshot) rows() iter.Seq[netstat.Row] {
	return func(yield func(netstat.Row) bool) {
		for i := range s.sums {
			if !yield(s.sums[i].row) {
				return
			}
		}
	}
}

func (s *statusSnapshot) overview() StatusOverview {
	return overviewOf(s.tally, s.notSafeOffline, s.at)
}

// count tallies the states and the live objects owned here that have no
// verified copy on another node.
func count(sums []objectSummary) (tally netstat.Tally, notSafeOffline int) {
	for _, o := range sums {
		tally.Add(o.row.State)
		if o.ownedHere && !o.safe && o.row.State != netstat.StateDeleting && o.row.State != netstat.StateDeleted {
			notSafeOffline++
		}
	}
	return tally, notSafeOffline
}

func overviewOf(tally netstat.Tally, notSafeOffline int, at time.Time) StatusOverview {
	return StatusOverview{Tally: tally, Summary: tally.String(), SafeOffline: notSafeOffline == 0,
		NotSafeOffline: notSafeOffline, AsOf: at}
}
