package replication

import (
	"slices"
	"time"
)

// Repair and release rules (every node applies them on its own; no step
// needs the owner or any coordinator):
//
//   - Covered operators are those with a verified copy or a copy not
//     challenged yet (a fresh holder gets time to prove itself before
//     anybody else fetches).
//   - Placement: while fewer operators than the target have ever attested
//     a copy, the object is new and the missing candidates fetch at once.
//   - Repair: when verified copies have stayed below the target for
//     RepairGrace, the next candidates fetch. Candidates are the roster in
//     Rank order, continued from the covered operators and regions, skipping
//     peers that attest a copy and operators already covered; as many as
//     operators are missing, plus one per RepairEscalation spent below the
//     target (so an offline candidate cannot stall repair); for first
//     placement, plus the time this node's own fetch queue would take
//     (fetchBacklog), since in a burst a silent candidate is most likely
//     busy, not failing. A node fetches
//     only when it is itself among them, fewest-copies-first, at most
//     MaxConcurrentRepairs at a time, the groups of holders the fetches
//     would come from taking turns (no group fills every slot while
//     another waits), only objects whose owner's policy it verified, and
//     only while it can reach a member that claims a copy.
//   - Release: when verified copies have stayed above the target for
//     ReleaseGrace, the lowest-ranked verified holder that is not pinned
//     releases its own copy. Copies never drop below the target by this,
//     since the lowest-ranked holder either shares its operator with a
//     higher-ranked one or is one of more than target operators.

type repairJob struct {
	copies int
	from   []PeerID
	// group names the set of holders the fetch would come from: queued
	// objects of different groups take turns (see startRepairs).
	group string
}

// considerRepair decides whether this node should fetch obj now, and
// records in v the peers that should.
func (c *Core) considerRepair(obj ObjectID, v *view, now time.Time) {
	c.unqueue(obj)
	if v.st.Target == 0 {
		return
	}
	v.candidates = c.repairCandidates(obj, v, now)
	if _, member := c.members[c.self]; !member || c.busyWith(obj, now) {
		return
	}
	// Only an object whose owner's policy this node verified is fetched:
	// the policy's root hashes to the object ID, so the object exists and
	// has an owner, and a member attesting made-up objects cannot fill
	// the repair queue (objects of format 1 have no policy: their holders
	// keep them, new holders do not fetch them).
	if v.e == nil || v.e.policy == nil {
		return
	}
	if slices.Contains(v.candidates, c.self) && c.reachesHolder(v) {
		from := sources(v)
		c.repairs[obj] = repairJob{copies: v.st.Copies, from: from, group: sourceGroup(from)}
		c.order.added = true
	}
}

// repairCandidates returns the peers that should fetch obj now: none while
// it is not short of its target or the grace has not run out, and one
// more per RepairEscalation spent short. It queues a wake for the next
// step.
func (c *Core) repairCandidates(obj ObjectID, v *view, now time.Time) []PeerID {
	deficit := v.st.Target - len(v.coverOps)
	if deficit <= 0 {
		return nil
	}
	start := c.below[obj]
	step := c.cfg.RepairEscalation
	if len(v.heldOps) >= v.st.Target { // repair, not first placement
		start = start.Add(c.cfg.RepairGrace)
		if hold := c.repairHold(); start.Before(hold) {
			start = hold
		}
	} else {
		if hold := c.placementHold(obj, v.e.firstIssued()); start.Before(hold) {
			start = hold
		}
		step += c.fetchBacklog()
	}
	if now.Before(start) {
		c.wakes.push(obj, start)
		return nil
	}
	steps := int(now.Sub(start) / step)
	c.wakes.push(obj, start.Add(time.Duration(steps+1)*step))
	return c.candidates(obj, v, deficit+steps)
}

// fetchBacklog is how long this node's queued fetches would take at the
// pace its recent fetches ended, at most maxBacklogWait. In a burst of
// new objects every candidate has such a queue, and one that has not
// fetched an object after a RepairEscalation is most likely still
// working through it, not failing: first placement waits that much
// longer before widening to the next candidate, instead of placing
// copies to be released again after ReleaseGrace. (Repair of copies that
// were lost does not wait: there a candidate's silence is more likely a
// failure.)
func (c *Core) fetchBacklog() time.Duration {
	if c.fetchTime == 0 || len(c.repairs) == 0 {
		return 0
	}
	wait := time.Duration(float64(c.fetchTime) * float64(len(c.repairs)) / float64(c.cfg.MaxConcurrentRepairs))
	return min(wait, maxBacklogWait)
}

// maxBacklogWait bounds fetchBacklog, so that a node whose queue a member
// fills (with objects of its own, say) still widens first placement
// within a few RepairEscalations.
const maxBacklogWait = 5 * time.Minute

// noteFetchTime keeps fetchTime, a moving average of how long this
// node's successful fetches took from start to end.
func (c *Core) noteFetchTime(d time.Duration) {
	if c.fetchTime == 0 {
		c.fetchTime = d
		return
	}
	c.fetchTime += (d - c.fetchTime) / 8
}

// busyWith reports whether this node holds, fetches or waits to retry obj.
func (c *Core) busyWith(obj ObjectID, now time.Time) bool {
	lo := c.local[obj]
	if lo == nil {
		return false
	}
	if lo.retryAt.After(now) {
		c.wakes.push(obj, lo.retryAt)
		return true
	}
	return lo.held || lo.fetching
}

// candidates returns the next width peers that should fetch obj: members
// this node sees as reachable first, in rank order, then unreachable ones
// (see reach.go), so that a lost member does not hold a new copy up for a
// RepairEscalation. It walks the ranking only as far as it must: the
// unreachable ones are kept for a second pass in case the reachable ones
// do not fill width.
func (c *Core) candidates(obj ObjectID, v *view, width int) []PeerID {
	if width == 0 {
		return nil
	}
	holders := map[PeerID]bool{}
	for _, h := range v.st.Holders {
		holders[h.Peer] = h.State != HolderReleased && h.State != HolderRevoked
	}
	ops := cloneSet(v.coverOps)
	var out []PeerID
	take := func(m Member) (full bool) {
		if !ops[m.Operator] {
			ops[m.Operator] = true
			out = append(out, m.Peer)
		}
		return len(out) == width
	}
	var unreachable []Member
	order := newRankOrder(scoreAll(obj, c.roster), v.coverOps, v.coverRegs)
	for m, ok := order.next(); ok; m, ok = order.next() {
		_, down := c.down[m.Peer]
		switch {
		case holders[m.Peer]:
		case down:
			unreachable = append(unreachable, m)
		case take(m):
			return out
		}
	}
	for _, m := range unreachable {
		if take(m) {
			return out
		}
	}
	return out
}

// reachesHolder reports whether another member claiming a copy in v is
// not unreachable from this node, so that a fetch has somewhere to come
// from. A node cut off from every holder starts no fetch, rather than one
// that fails and is retried every RepairGrace; when a holder connects
// again, PeerUp queues every object short of its target for a new look.
// A claimant not counted now (stale, failed) still qualifies: it may be
// the last copy, and the node fetches from whoever has the blocks.
func (c *Core) reachesHolder(v *view) bool {
	for _, h := range v.st.Holders {
		if _, down := c.down[h.Peer]; !h.Local && !down && claims(h.State) {
			return true
		}
	}
	return false
}

// sources lists holders a fetch can use: verified first, then unverified.
func sources(v *view) []PeerID {
	var out []PeerID
	for _, want := range []HolderState{HolderVerified, HolderUnverified} {
		for _, h := range v.st.Holders {
			if h.State == want && !h.Local {
				out = append(out, h.Peer)
			}
		}
	}
	return out
}

func (c *Core) startFetch(obj ObjectID, job repairJob, now time.Time) {
	c.local[obj] = &localObject{fetching: true, fetchStart: now.UnixMilli()}
	c.localChurn++
	c.fetching[obj] = job.group
	c.out.Fetches = append(c.out.Fetches, Fetch{Object: obj, From: job.from})
}

// fetchEnded releases the repair slot a fetch of obj took.
func (c *Core) fetchEnded(obj ObjectID) {
	delete(c.fetching, obj)
}

// FetchDone reports the end of a fetch started by a Fetch action. On
// success (leaves > 0: the number of blocks of the copy now on this
// node's disk, counted there) this node holds the object from now on; on
// failure (leaves 0) it retries after RepairGrace if it is still a
// candidate then.
func (c *Core) FetchDone(obj ObjectID, leaves int, now time.Time) error {
	lo := c.local[obj]
	if lo == nil || !lo.fetching {
		return ErrNotFetching
	}
	lo.fetching = false
	c.fetchEnded(obj)
	c.dirty[obj] = true
	if leaves < 1 || leaves >= maxLeaves {
		lo.retryAt = now.Add(c.cfg.RepairGrace)
		return nil
	}
	lo.held, lo.leaves = true, leaves
	if took := now.Sub(msTime(lo.fetchStart)); lo.fetchStart != 0 && took > 0 {
		c.noteFetchTime(took)
	}
	if lo.since == 0 {
		lo.since = now.UnixMilli()
	}
	c.holdingChanged(obj)
	return nil
}

// considerRelease releases the local copy of obj when it is surplus.
func (c *Core) considerRelease(obj ObjectID, v *view, now time.Time) {
	lo := c.local[obj]
	since, above := c.above[obj]
	if lo == nil || !lo.held || lo.pinned || !above {
		return
	}
	if end := since.Add(c.cfg.ReleaseGrace); now.Before(end) {
		c.wakes.push(obj, end)
		return
	}
	if c.lowestReleasable(obj, v) != c.self {
		return
	}
	lo.held = false
	c.localGen++
	delete(c.above, obj)
	c.toAttest[obj] = true
	c.out.Releases = append(c.out.Releases, obj)
}

// lowestReleasable returns the lowest-ranked verified holder not pinned.
func (c *Core) lowestReleasable(obj ObjectID, v *view) PeerID {
	var verified []Member
	pinned := map[PeerID]bool{}
	for _, h := range v.st.Holders {
		if h.State == HolderVerified {
			verified = append(verified, c.members[h.Peer])
			pinned[h.Peer] = h.Pinned
		}
	}
	ranked := Rank(obj, verified)
	for i := len(ranked) - 1; i >= 0; i-- {
		if !pinned[ranked[i].Peer] {
			return ranked[i].Peer
		}
	}
	return ""
}
