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
	"github.com/cairn-fed/cairn/node/replicas"
	"github.com/cairn-fed/cairn/replication"
)

// statusCache keeps the latest pass for StatusPage. A dashboard polls
// every second or two; a pass costs about a microsecond per object, so
// over a million objects a pass per request would keep a core busy and
// make every poll wait a second. A quick pass is simply redone on every
// request. A slow one is reused for up to 10 times its duration (at most
// 30 s); after that the next request still gets it, marked by its as_of,
// and starts a new pass in the background: no request waits for a pass
// except one that comes before the first, which the node starts as soon as
// its ledger is restored (warmStatus).
type statusCache struct {
	mu         sync.Mutex
	snap       *statusSnapshot // the latest pass, nil before the first; guarded by mu
	refreshing bool            // a background pass is running; guarded by mu

	// The objects of the core in CID order, as of the core's object set
	// version sortedAt. Sorting a million CIDs takes a third of a pass,
	// and the set rarely changes between passes.
	sortMu   sync.Mutex
	sorted   []replication.ObjectID // read-only once kept
	sortedAt uint64
}

// sortedObjects returns every object the core knows of, in CID order,
// sorting only when the set changed since the last call.
func (sc *statusCache) sortedObjects(r *replicas.Driver) []replication.ObjectID {
	sc.sortMu.Lock()
	defer sc.sortMu.Unlock()
	var ids []replication.ObjectID
	fresh := false
	r.Read(func(c *replication.Core) {
		if v := c.ObjectSetVersion(); sc.sorted == nil || v != sc.sortedAt {
			ids, sc.sortedAt, fresh = c.AppendObjects(nil), v, true
		}
	})
	if fresh {
		sc.sorted = replication.SortIDs(ids)
	}
	return sc.sorted
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

// warmStatus makes a first pass in the background once the ledger is
// restored, so that over a large ledger not even the first `cairn status`
// after a start waits for one.
func (n *Node) warmStatus(ctx context.Context) {
	if _, err := n.statusPass(ctx); err != nil && ctx.Err() == nil {
		n.logger.Warn("status overview pass", "err", err)
	}
}

// statusPass makes a pass over every object and keeps it.
func (n *Node) statusPass(ctx context.Context) (*statusSnapshot, error) {
	start := time.Now()
	sums, err := n.summarise(ctx, start)
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
	verifiedAt int64 // unix ms of the oldest verified remote copy; 0 when none
	regions    int32
	safe       bool // a verified copy lives on a node other than the owner's
	ownedHere  bool // this node is the object's owner
	indexed    bool // the object is in this node's index (it added or fetched it)
	// young is the state the object would have within the grace (see
	// netstat.Config.AtRiskGrace); its age matters when it differs.
	young netstat.State
}

// rowMaker turns summaries into rows of StatusAll. Over a million rows
// the verification ages are few distinct words, so it renders each once,
// and it keeps the rows' verification times in one slice.
type rowMaker struct {
	now    time.Time
	times  []time.Time         // by row
	labels map[labelKey]string // rendered ages
}

// labelKey identifies a rendered age: netstat.Age renders whole seconds.
type labelKey struct {
	secs  int64
	stale bool
}

func (m *rowMaker) status(s objectSummary, name string, i int) ObjectStatus {
	o := ObjectStatus{CID: s.row.ID, State: s.row.State, Copies: s.row.Copies, Target: s.row.Target,
		Name: name, Regions: int(s.regions), SafeOffline: s.safe}
	if s.verifiedAt == 0 {
		return o
	}
	m.times[i] = time.UnixMilli(s.verifiedAt)
	stamp := viewer.Config().Stamp(m.times[i], m.now)
	o.VerifiedAt, o.Stale = &m.times[i], stamp.Freshness == netstat.Stale
	k := labelKey{secs: int64(stamp.Age / time.Second), stale: o.Stale}
	if stamp.Age < 0 {
		k.secs = -1 // "just now", however early
	}
	label, ok := m.labels[k]
	if !ok {
		label = stamp.Label("verified")
		m.labels[k] = label
	}
	o.Verified = label
	return o
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
func (n *Node) summarise(ctx context.Context, now time.Time) ([]objectSummary, error) {
	indexed, err := n.indexedIDs(ctx)
	if err != nil {
		return nil, err
	}
	ids := n.status.sortedObjects(n.repl)
	sums, err := n.summariseIDs(ctx, ids, now, make([]objectSummary, 0, len(ids)))
	if err != nil {
		return nil, err
	}
	if sums, err = n.addIndexed(ctx, sums, indexed, now); err != nil {
		return nil, err
	}
	n.settleDeletions(sums, now)
	for i := range sums {
		if sums[i].indexed {
			n.settleAge(ctx, &sums[i], now)
		}
	}
	return sums, nil
}

// summariseIDs appends the summaries of ids, in their order, reading the
// core a chunk at a time.
func (n *Node) summariseIDs(ctx context.Context, ids []replication.ObjectID, now time.Time, sums []objectSummary) ([]objectSummary, error) {
	ovs := make([]replication.Overview, 0, min(summaryChunk, len(ids)))
	for start := 0; start < len(ids); start += summaryChunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		chunk := ids[start:min(start+summaryChunk, len(ids))]
		n.repl.Read(func(c *replication.Core) { ovs = c.Overviews(ovs[:0], chunk, now) })
		for _, o := range ovs {
			sums = append(sums, summaryOf(o))
		}
	}
	return sums, nil
}

// facts are what the state derives from, as netstat.Viewer.Facts reads
// them from a full status, for an object taken as past the grace.
func facts(o replication.Overview) netstat.Facts {
	return netstat.Facts{Target: o.Target, Copies: o.Copies, OwnerHolds: o.OwnerClaims, OthersHold: o.OthersClaim,
		Pending: o.Pending, EverFull: !o.LastFullyReplicatedAt.IsZero(), PastGrace: true}
}

// summaryOf derives one object's summary, taking it as past the grace,
// and notes the state it would have within the grace.
func summaryOf(o replication.Overview) objectSummary {
	f := facts(o)
	s := objectSummary{row: netstat.Row{ID: string(o.Object), State: f.State(), Copies: o.Copies, Target: o.Target},
		regions: int32(o.Regions), safe: o.SafeOffline, ownedHere: o.OwnedHere}
	f.PastGrace = false
	s.young = f.State()
	if !o.OldestVerified.IsZero() {
		s.verifiedAt = o.OldestVerified.UnixMilli()
	}
	return s
}

// addIndexed marks the summaries of objects in the index (sorted) and
// adds those the core did not list.
func (n *Node) addIndexed(ctx context.Context, sums []objectSummary, indexed []string, now time.Time) ([]objectSummary, error) {
	var missing []replication.ObjectID
	i := 0
	for _, id := range indexed {
		for i < len(sums) && sums[i].row.ID < id {
			i++
		}
		if i < len(sums) && sums[i].row.ID == id {
			sums[i].indexed = true
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
		extra[j].indexed = true
	}
	return mergeSummaries(sums, extra), nil
}

// mergeSummaries merges two lists in CID order.
func mergeSummaries(a, b []objectSummary) []objectSummary {
	out := make([]objectSummary, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || (len(a) > 0 && a[0].row.ID <= b[0].row.ID) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// settleDeletions gives deleted objects their deletion state. It asks
// the tombstone set about a chunk of objects per hold of its lock.
func (n *Node) settleDeletions(sums []objectSummary, now time.Time) {
	var deleted []int
	ids := make([]string, 0, summaryChunk)
	for start := 0; start < len(sums); start += summaryChunk {
		ids = ids[:0]
		for _, s := range sums[start:min(start+summaryChunk, len(sums))] {
			ids = append(ids, s.row.ID)
		}
		for _, i := range n.del.Deleted(ids) {
			deleted = append(deleted, start+i)
		}
	}
	for _, i := range deleted {
		p := n.deletionProgress(sums[i].row.ID, now)
		if p.Deleted {
			sums[i].row.State = viewer.State(netstat.ObjectInput{Deletion: p}, now)
		}
	}
}

// settleAge re-derives the state of a live object whose state depends on
// its age, from when this node added or fetched it (unknown: past the
// grace).
func (n *Node) settleAge(ctx context.Context, s *objectSummary, now time.Time) {
	if s.row.State == netstat.StateDeleting || s.row.State == netstat.StateDeleted || s.young == s.row.State {
		return
	}
	rec, err := n.index.get(ctx, s.row.ID)
	if err != nil {
		return
	}
	if !viewer.Facts(netstat.ObjectInput{FirstSeen: rec.AddedAt}, now).PastGrace {
		s.row.State = s.young
	}
}

// indexedIDs lists, sorted, the objects in the index.
func (n *Node) indexedIDs(ctx context.Context) ([]string, error) {
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
	return indexed, nil
}
