package status

import (
	"iter"
	"sync"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// Snapshot is one pass over every object: the rows the overview pages
// through, and what it counts. It is read-only once made.
type Snapshot struct {
	sums           []Summary
	tally          netstat.Tally
	notSafeOffline int
	at             time.Time     // when the pass read the ledger
	took           time.Duration // how long the pass took
}

// NewSnapshot keeps the summaries of a pass that read the ledger at at
// and took took.
func NewSnapshot(sums []Summary, at time.Time, took time.Duration) *Snapshot {
	s := &Snapshot{sums: sums, at: at, took: took}
	s.tally, s.notSafeOffline = count(sums)
	return s
}

// Rows yields the row of every object.
func (s *Snapshot) Rows() iter.Seq[netstat.Row] {
	return func(yield func(netstat.Row) bool) {
		for i := range s.sums {
			if !yield(s.sums[i].Row) {
				return
			}
		}
	}
}

// Overview is the pass's tally, as of when it read the ledger.
func (s *Snapshot) Overview() Overview {
	return overviewOf(s.tally, s.notSafeOffline, s.at)
}

// Passes quicker than syncPass run on the request that needs them.
const (
	syncPass     = 100 * time.Millisecond
	maxSnapReuse = 30 * time.Second
)

// Next says what a request does about the pass it reads.
type Next int

const (
	// Serve: the kept pass is recent enough.
	Serve Next = iota
	// PassNow: make a pass on the request (there is none, or passes are
	// quick), and Keep it.
	PassNow
	// Refresh: serve the kept pass, and make a new one in the background,
	// Keep it and call Refreshed.
	Refresh
)

// Cache keeps the latest pass for the overview. A dashboard polls every
// second or two; a pass costs about a microsecond per object, so over a
// million objects a pass per request would keep a core busy and make
// every poll wait a second. A quick pass is simply redone on every
// request. A slow one is reused for up to 10 times its duration (at most
// 30 s); after that the next request still gets it, marked by its as_of,
// and starts a new pass in the background: no request waits for a pass
// except one that comes before the first. The zero value is ready.
type Cache struct {
	mu sync.Mutex
	// Guarded by mu.
	snap       *Snapshot // the latest pass, nil before the first
	refreshing bool      // a background pass is running

	// The objects of the core in CID order, as of the core's object set
	// version sortedAt. Sorting a million CIDs takes a third of a pass,
	// and the set rarely changes between passes.
	sortMu sync.Mutex
	// Guarded by sortMu.
	sorted   []replication.ObjectID // read-only once kept
	sortedAt uint64
}

// Plan decides, at now, what a request does: it returns the kept pass
// (nil before the first) and what to do about it. Only one Refresh is
// handed out until Refreshed is called.
func (c *Cache) Plan(now time.Time) (*Snapshot, Next) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snap
	switch {
	case snap == nil || snap.took < syncPass:
		return snap, PassNow
	case now.Sub(snap.at) < min(10*snap.took, maxSnapReuse) || c.refreshing:
		return snap, Serve
	}
	c.refreshing = true
	return snap, Refresh
}

// Refreshed says the background pass that Plan asked for has ended.
func (c *Cache) Refreshed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
}

// Keep keeps snap unless a pass that read the ledger later is kept.
func (c *Cache) Keep(snap *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap == nil || !c.snap.at.After(snap.at) {
		c.snap = snap
	}
}

// Reset drops the kept pass, so that the next request makes one, as
// before the first. A background pass running now still keeps its own.
func (c *Cache) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snap = nil
}

// Sorted returns every object the core knows of, in CID order, sorting
// only when the set changed since the last call. read runs its argument
// with the core read-locked.
func (c *Cache) Sorted(read func(func(*replication.Core))) []replication.ObjectID {
	c.sortMu.Lock()
	defer c.sortMu.Unlock()
	var ids []replication.ObjectID
	fresh := false
	read(func(core *replication.Core) {
		if v := core.ObjectSetVersion(); c.sorted == nil || v != c.sortedAt {
			ids, c.sortedAt, fresh = core.AppendObjects(nil), v, true
		}
	})
	if fresh {
		c.sorted = replication.SortIDs(ids)
	}
	return c.sorted
}
