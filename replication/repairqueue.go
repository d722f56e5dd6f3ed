package replication

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// The repair queue: in which order the fetches this node decided on
// start, within MaxConcurrentRepairs, and how that order is kept between
// Ticks.

// startRepairs starts queued fetches within the cap: fewest copies first;
// among objects with as many copies, the groups of holders they would come
// from take turns, and while objects of several groups wait no group fills
// every slot. A member claiming many objects whose blocks it does not
// serve (each such fetch fails only when it stalls; the objects may even
// be its own, with valid policies) so cannot hold up the repairs of
// objects other members hold.
func (c *Core) startRepairs(now time.Time) {
	if len(c.fetching) >= c.cfg.MaxConcurrentRepairs || len(c.repairs) == 0 {
		return // no slot, or nothing queued: no need to order the queue
	}
	objs, groups := c.queuedInOrder(now)
	share := c.cfg.MaxConcurrentRepairs
	if groups > 1 {
		share = max(1, share-1)
	}
	busy := map[string]int{} // fetches in flight by group
	for _, g := range c.fetching {
		busy[g]++
	}
	for _, obj := range objs {
		if len(c.fetching) >= c.cfg.MaxConcurrentRepairs {
			return
		}
		job, queued := c.repairs[obj]
		if !queued || busy[job.group] >= share {
			continue
		}
		busy[job.group]++
		c.startFetch(obj, job, now)
		c.unqueue(obj)
	}
}

// unqueue takes obj off the repair queue. A queue that empties gives back
// what a burst grew it to: a map keeps its size after deletes, and the
// garbage collector would go on scanning a hundred thousand empty slots,
// and the kept order as many IDs, for as long as the node runs.
func (c *Core) unqueue(obj ObjectID) {
	delete(c.repairs, obj)
	if len(c.repairs) == 0 {
		c.repairs = map[ObjectID]repairJob{}
		c.order = repairOrdering{}
	}
}

// sourceGroup names a set of holders, whatever their order.
func sourceGroup(from []PeerID) string {
	sorted := slices.Clone(from)
	slices.Sort(sorted)
	var b strings.Builder
	for _, p := range sorted {
		b.WriteString(string(p))
		b.WriteByte(0)
	}
	return b.String()
}

// repairOrdering keeps the order of the repair queue between Ticks, so
// that a queue of a hundred thousand objects is not sorted again each
// time a fetch ends: objects queued since it was made wait for the next
// ordering, at most reorderPeriod later, or until every object it lists
// has started.
type repairOrdering struct {
	objs   []ObjectID // the queue as ordered at; some may have started or left since
	head   int        // objs before head have all left the queue
	groups int
	at     time.Time
	added  bool // objects queued (or queued again) since at
}

// reorderPeriod is how long a queue of queued objects keeps its order
// while objects are added: a second, and a second more per 10,000
// queued, so that ordering never takes more than a few percent of a core.
func reorderPeriod(queued int) time.Duration {
	return time.Duration(1+queued/10_000) * time.Second
}

// queuedInOrder returns the queued objects in the order to fetch them (a
// listed object may have left the queue since) and how many groups they
// come from, ordering the queue again when its order is stale.
func (c *Core) queuedInOrder(now time.Time) ([]ObjectID, int) {
	o := &c.order
	for o.head < len(o.objs) {
		if _, queued := c.repairs[o.objs[o.head]]; queued {
			break
		}
		o.head++
	}
	if o.head == len(o.objs) || (o.added && now.Sub(o.at) >= reorderPeriod(len(c.repairs))) {
		o.objs, o.groups = c.repairOrder()
		o.head, o.at, o.added = 0, now, false
	}
	return o.objs[o.head:], o.groups
}

// repairOrder returns the queued objects in the order to fetch them, and
// how many groups they come from: by copies, then by each object's place
// among its group's queued objects (in order of copies, then ID), then by
// ID.
func (c *Core) repairOrder() ([]ObjectID, int) {
	type queued struct {
		obj          ObjectID
		copies, turn int
		group        string
	}
	q := make([]queued, 0, len(c.repairs))
	for obj, job := range c.repairs {
		q = append(q, queued{obj: obj, copies: job.copies, group: job.group})
	}
	slices.SortFunc(q, func(a, b queued) int {
		return cmp.Or(cmp.Compare(a.copies, b.copies), strings.Compare(string(a.obj), string(b.obj)))
	})
	seen := map[string]int{}
	for i := range q {
		q[i].turn = seen[q[i].group]
		seen[q[i].group]++
	}
	slices.SortStableFunc(q, func(a, b queued) int {
		return cmp.Or(cmp.Compare(a.copies, b.copies), cmp.Compare(a.turn, b.turn))
	})
	objs := make([]ObjectID, len(q))
	for i := range q {
		objs[i] = q[i].obj
	}
	return objs, len(seen)
}
