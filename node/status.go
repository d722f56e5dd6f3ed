package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-datastore/query"

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
	n.repl.read(func(c *replication.Core) { in.Status = c.Status(replication.ObjectID(id), now) })
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
		names[o.ID] = o.Name
	}
	ids, err := n.objectIDs(ctx)
	if err != nil {
		return StatusOverview{}, err
	}
	now := time.Now()
	sums, err := n.summarise(ctx, ids, now)
	if err != nil {
		return StatusOverview{}, err
	}
	tally, notSafe := count(sums)
	ov := overviewOf(tally, notSafe, now)
	ov.Objects = make([]ObjectStatus, 0, len(sums))
	for _, s := range sums {
		ov.Objects = append(ov.Objects, s.status(names[s.row.ID], now))
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
	page := viewer.Overview(slices.Values(snap.rows), after, limit)
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
	rows           []netstat.Row
	tally          netstat.Tally
	notSafeOffline int
	at             time.Time     // when the pass read the ledger
	took           time.Duration // how long the pass took
}

func newSnapshot(sums []objectSummary, at time.Time, took time.Duration) *statusSnapshot {
	s := &statusSnapshot{rows: make([]netstat.Row, len(sums)), at: at, took: took}
	for i, o := range sums {
		s.rows[i] = o.row
	}
	s.tally, s.notSafeOffline = count(sums)
	return s
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

// statusCache keeps the latest pass for StatusPage. A dashboard polls
// every second or two; a pass costs a few microseconds per object, so
// over a million objects a pass per request would keep a core busy and
// make every poll wait seconds. A quick pass is simply redone on every
// request. A slow one is reused for up to 10 times its duration (at most
// 30 s); after that the next request still gets it, marked by its as_of,
// and starts a new pass in the background: no request waits for a pass
// except the very first.
type statusCache struct {
	mu         sync.Mutex
	snap       *statusSnapshot // the latest pass, nil before the first; guarded by mu
	refreshing bool            // a background pass is running; guarded by mu
}

// Passes quicker than syncPass run on the request that needs them.
const (
	syncPass     = 100 * time.Millisecond
	maxSnapReuse = 30 * time.Second
)

// statusSnapshot returns a recent enough pass, making one if needed.
func (n *Node) statusSnapshot(ctx context.Context) (*statusSnapshot, error) {
	c := &n.status
	c.mu.Lock()
	snap := c.snap
	switch {
	case snap == nil || snap.took < syncPass:
		c.mu.Unlock()
		return n.statusPass(ctx)
	case time.Since(snap.at) < min(10*snap.took, maxSnapReuse) || c.refreshing:
		c.mu.Unlock()
		return snap, nil
	}
	c.refreshing = true
	c.mu.Unlock()
	n.spawn(func(ctx context.Context) {
		if _, err := n.statusPass(ctx); err != nil && ctx.Err() == nil {
			n.logger.Warn("status overview pass", "err", err)
		}
		c.mu.Lock()
		c.refreshing = false
		c.mu.Unlock()
	})
	return snap, nil
}

// statusPass makes a pass over every object and keeps it.
func (n *Node) statusPass(ctx context.Context) (*statusSnapshot, error) {
	start := time.Now()
	ids, err := n.objectIDs(ctx)
	if err != nil {
		return nil, err
	}
	sums, err := n.summarise(ctx, ids, start)
	if err != nil {
		return nil, err
	}
	snap := newSnapshot(sums, start, time.Since(start))
	n.status.mu.Lock()
	defer n.status.mu.Unlock()
	if n.status.snap == nil || !n.status.snap.at.After(snap.at) {
		n.status.snap = snap
	}
	return snap, nil
}

// objectSummary is what a pass keeps of one object: its row and the few
// facts the overview and the listing add to it.
type objectSummary struct {
	row        netstat.Row
	regions    int
	safe       bool  // a verified copy lives on a node other than the owner's
	ownedHere  bool  // this node is the object's owner
	verifiedAt int64 // unix ms of the oldest verified remote copy; 0 when none
}

func (s objectSummary) status(name string, now time.Time) ObjectStatus {
	o := ObjectStatus{CID: s.row.ID, State: s.row.State, Copies: s.row.Copies, Target: s.row.Target,
		Name: name, Regions: s.regions, SafeOffline: s.safe}
	if s.verifiedAt != 0 {
		at := time.UnixMilli(s.verifiedAt)
		stamp := viewer.Config().Stamp(at, now)
		o.VerifiedAt, o.Verified, o.Stale = &at, stamp.Label("verified"), stamp.Freshness == netstat.Stale
	}
	return o
}

// summaryChunk is how many objects one hold of the replication lock
// covers, so that a pass over a million objects never stalls replication
// for long.
const summaryChunk = 2048

// pending is an object whose state needs more than the ledger: sums[i],
// with the facts derived so far.
type pending struct {
	i     int
	facts netstat.Facts
}

// summarise derives the state of every object in ids at now, in the
// order of ids. The ledger says most; a deletion, and the object's age
// when its state depends on it (a new object below its target), are
// looked up for the objects that need them.
func (n *Node) summarise(ctx context.Context, ids []string, now time.Time) ([]objectSummary, error) {
	sums := make([]objectSummary, 0, len(ids))
	var young []pending
	for start := 0; start < len(ids); start += summaryChunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		chunk := ids[start:min(start+summaryChunk, len(ids))]
		first := len(sums)
		n.repl.read(func(c *replication.Core) {
			for _, id := range chunk {
				s, f, ageMatters := summarise(c.Status(replication.ObjectID(id), now), now)
				if ageMatters {
					young = append(young, pending{i: len(sums), facts: f})
				}
				sums = append(sums, s)
			}
		})
		n.settleDeletions(sums[first:], now) // outside the replication lock, which deletions take after theirs
	}
	for _, y := range young {
		n.settleAge(ctx, &sums[y.i], y.facts, now)
	}
	return sums, nil
}

// summarise derives one object's summary, taking it as past the grace;
// ageMatters reports whether a younger object would be in another state.
func summarise(st replication.ObjectStatus, now time.Time) (s objectSummary, f netstat.Facts, ageMatters bool) {
	f = viewer.Facts(netstat.ObjectInput{Status: st}, now)
	s.row = netstat.Row{ID: string(st.Object), State: f.State(), Copies: st.Copies, Target: st.Target}
	s.regions, s.safe = st.Regions, netstat.SafeOffline(st)
	for _, h := range st.Holders {
		s.ownedHere = s.ownedHere || (h.Local && h.Pinned)
		if h.State == replication.HolderVerified && !h.VerifiedAt.IsZero() {
			if at := h.VerifiedAt.UnixMilli(); s.verifiedAt == 0 || at < s.verifiedAt {
				s.verifiedAt = at
			}
		}
	}
	f.PastGrace = false
	return s, f, f.State() != s.row.State
}

// settleDeletions gives deleted objects their deletion state.
func (n *Node) settleDeletions(sums []objectSummary, now time.Time) {
	for i := range sums {
		p := n.deletionProgress(sums[i].row.ID, now)
		if p.Deleted {
			sums[i].row.State = viewer.State(netstat.ObjectInput{Deletion: p}, now)
		}
	}
}

// settleAge re-derives the state of an object whose state depends on its
// age, from when this node added or fetched it (unknown: past the grace).
func (n *Node) settleAge(ctx context.Context, s *objectSummary, f netstat.Facts, now time.Time) {
	if s.row.State == netstat.StateDeleting || s.row.State == netstat.StateDeleted {
		return
	}
	rec, err := n.index.get(ctx, s.row.ID)
	if err != nil {
		return
	}
	f.PastGrace = viewer.Facts(netstat.ObjectInput{FirstSeen: rec.AddedAt}, now).PastGrace
	s.row.State = f.State()
}

// objectIDs lists, sorted, the objects in the index and in the ledger.
func (n *Node) objectIDs(ctx context.Context) ([]string, error) {
	res, err := n.meta.Query(ctx, query.Query{Prefix: "/objects/", KeysOnly: true})
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
	var known []replication.ObjectID
	n.repl.read(func(c *replication.Core) { known = c.Objects() })
	return mergeSorted(indexed, known), nil
}

// mergeSorted returns the union of two sorted lists, sorted, each once.
func mergeSorted(a []string, b []replication.ObjectID) []string {
	out := make([]string, 0, max(len(a), len(b)))
	for len(a) > 0 || len(b) > 0 {
		var next string
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0] <= string(b[0])):
			next, a = a[0], a[1:]
		default:
			next, b = string(b[0]), b[1:]
		}
		if len(out) == 0 || out[len(out)-1] != next {
			out = append(out, next)
		}
	}
	return out
}
