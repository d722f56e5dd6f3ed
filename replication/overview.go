package replication

import (
	"slices"
	"time"
)

// Overview is what a listing of every object needs of one: the counts of
// Status and a few facts about its holders, without the holder list.
// Overviews derives it by the same rules as Status (the same code judges
// each holder), but allocates nothing per object and reads the ledger in
// batches: under a microsecond per object over a million objects, where
// Status takes several.
type Overview struct {
	Object      ObjectID
	Known       bool // the ledger has any record of the object
	Target      int  // as in ObjectStatus
	Copies      int
	Regions     int
	HeldLocally bool
	// HeldSince is as in ObjectStatus: when this node first kept its
	// copy; zero when it holds none.
	HeldSince time.Time
	// LastFullyReplicatedAt is as in ObjectStatus, and is remembered in
	// the same way.
	LastFullyReplicatedAt time.Time

	// Facts about the holders Status lists. A holder claims a copy unless
	// it released it or is revoked.
	OwnerClaims bool // the owner's node (a pinned holder) claims a copy
	OthersClaim bool // a holder other than the owner's node claims a copy
	Pending     bool // a holder claims a copy never challenged yet
	// SafeOffline: a verified copy lives on a node other than the owner's.
	SafeOffline bool
	// OwnedHere: this node is the object's owner (a local, pinned holder).
	OwnedHere bool
	// OldestVerified is the oldest VerifiedAt among verified holders that
	// have one (remote copies); zero when none.
	OldestVerified time.Time
}

// Overviews appends to dst the overview of each of objs at now, in order.
// Objects the core knows nothing of get an overview with only Object set.
// Like Status, it remembers when an object is fully replicated.
func (c *Core) Overviews(dst []Overview, objs []ObjectID, now time.Time) []Overview {
	j := c.judge(now)
	j.peers.fill()
	var batch [overviewBatch]*objectEntry
	for len(objs) > 0 {
		n := min(len(objs), len(batch))
		j.loaded += c.loadEntries(batch[:n], objs[:n])
		for i, obj := range objs[:n] {
			dst = append(dst, c.overview(obj, batch[i], now, &j))
		}
		objs = objs[n:]
	}
	return dst
}

// overviewBatch is how many objects Overviews reads ahead.
const overviewBatch = 64

// loadEntries looks up the ledger entries of objs and reads their holders
// and proofs once. Over a large ledger each object's records lie in
// memory apart from the others', and reading them one object at a time
// waits for memory at every step; reading a batch at once lets the loads
// overlap, after which the overviews find the records in cache.
func (c *Core) loadEntries(es []*objectEntry, objs []ObjectID) (sum int64) {
	for _, obj := range objs { // the IDs' bytes, which the lookups hash
		if len(obj) > 0 {
			sum += int64(obj[0]) + int64(obj[len(obj)-1])
		}
	}
	for i, obj := range objs {
		es[i] = c.ledger.objects.get(obj)
	}
	for _, e := range es {
		if e != nil {
			sum += int64(len(e.pairs)) + int64(len(e.proofs))
		}
	}
	for _, e := range es {
		if e == nil {
			continue
		}
		for i := range e.pairs {
			sum += int64(e.pairs[i].flags)
		}
		if len(e.proofs) > 0 {
			sum += e.proofs[0].packed + e.proofs[len(e.proofs)-1].packed
		}
	}
	return sum
}

// overview walks the holders as view does, without keeping them.
func (c *Core) overview(obj ObjectID, e *objectEntry, now time.Time, j *judge) Overview {
	var o overviewBuilder
	o.Object = obj
	listed, claimed := false, false
	if e != nil {
		o.Known = true
		o.LastFullyReplicatedAt = msTime(e.lastFull)
		for i := range e.pairs {
			p := &e.pairs[i]
			v := j.holder(obj, e, p)
			claimed = claimed || claims(v.state)
			listed = listed || v.local
			o.add(v)
		}
	}
	lo := c.local[obj]
	if lo != nil || claimed {
		o.Target = c.targetOf(obj, lo)
	}
	if lo != nil {
		o.HeldLocally = lo.held
		if lo.held {
			o.HeldSince = msTime(lo.since)
		}
		if v, ok := c.localHolder(lo, listed); ok {
			o.add(v)
		}
	}
	if fullNow(o.count.ops.len(), o.Target) {
		o.LastFullyReplicatedAt = now
	}
	return o.done()
}

// overviewBuilder collects an Overview holder by holder.
type overviewBuilder struct {
	Overview
	count  counter
	oldest int64 // unix ms of the oldest verification; 0 when none
}

// add notes one holder's facts.
func (o *overviewBuilder) add(v verdict) {
	o.count.add(v.state, v.peer.operator, v.peer.region)
	if claims(v.state) {
		o.OwnerClaims = o.OwnerClaims || v.pinned
		o.OthersClaim = o.OthersClaim || !v.pinned
		o.Pending = o.Pending || v.state == HolderUnverified
	}
	o.OwnedHere = o.OwnedHere || (v.local && v.pinned)
	if v.state != HolderVerified {
		return
	}
	o.SafeOffline = o.SafeOffline || !v.pinned
	if v.passed != 0 && (o.oldest == 0 || v.passed < o.oldest) {
		o.oldest = v.passed
	}
}

func (o *overviewBuilder) done() Overview {
	o.Copies, o.Regions = o.count.ops.len(), o.count.regions.len()
	o.OldestVerified = msTime(o.oldest)
	return o.Overview
}

// overviewOf derives an Overview from a full status with the same rules
// for the holder facts; tests hold Overviews to it.
func overviewOf(st ObjectStatus) Overview {
	var o overviewBuilder
	o.Overview = Overview{Object: st.Object, Known: st.Known, Target: st.Target, HeldLocally: st.HeldLocally, HeldSince: st.HeldSince,
		LastFullyReplicatedAt: st.LastFullyReplicatedAt}
	for _, h := range st.Holders {
		o.add(verdict{peer: peerInfo{operator: h.Operator, region: h.Region}, local: h.Local, pinned: h.Pinned,
			state: h.State, passed: msMilli(h.VerifiedAt)})
	}
	ov := o.done()
	ov.Copies, ov.Regions = st.Copies, st.Regions // as Status counted them
	return ov
}

func msMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// AppendObjects appends to dst, in no particular order, every object the
// ledger records or this node holds or fetches: the set Objects returns,
// without building a set or sorting, for passes that order it themselves.
func (c *Core) AppendObjects(dst []ObjectID) []ObjectID {
	dst = slices.Grow(dst, c.ledger.objects.len()+len(c.local))
	for e := range c.ledger.objects.all() {
		dst = append(dst, e.id)
	}
	for obj := range c.local {
		if c.ledger.objects.get(obj) == nil {
			dst = append(dst, obj)
		}
	}
	return dst
}

// ObjectSetVersion changes whenever the set AppendObjects returns may have
// changed, so a caller may keep that set, sorted, until it does.
func (c *Core) ObjectSetVersion() uint64 {
	return uint64(c.ledger.objects.len()) + c.localChurn // the ledger never forgets an object
}
