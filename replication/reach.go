package replication

import (
	"time"
)

// Reachability: what this node sees of its connections to members.
//
// A member whose connection closed is unreachable until it connects
// again: copies it claims stop counting at once (HolderUnreachable), and
// repair candidates are picked among reachable members first. This is an
// observation of this node's, not evidence about a copy: it is kept in
// memory only, never signed into an attestation, persisted or sent on.
// A challenge failure, by contrast, is evidence, and is published. So a
// holder that only restarted counts again as soon as it is back, on the
// proofs it had, and a restart of the whole federation leaves no record
// of anyone as lost.
//
// After this node starts it has seen no connection yet: every member is
// taken to be reachable, and repair (not first placement) waits
// ReconnectGrace from the first Tick, so that members can reconnect and
// prove their copies again before anything is fetched around them. The
// same holds when this node lost every other member (a partition, its own
// network down) and gets a first connection back: the others follow over
// the next seconds, and repair waits ReconnectGrace from that first one.
//
// And when this node joins a federation (its roster gets its first other
// member): it learns what the members hold over its first seconds, one
// member's records at a time, and an object it has heard of from one
// holder looks new though it may be backed up. So first placement of an
// object attested before the join waits ReconnectGrace from it as well;
// objects added since are placed at once.

// reachability is what this node knows of its connections to members.
type reachability struct {
	// down holds the members this node lost its connection to, and since
	// when; started is the time of the first Tick.
	down    map[PeerID]time.Time
	started time.Time
	// isolated: every other member is down; rejoined is when the first
	// of them came back after that, or when this node joined a federation.
	isolated bool
	rejoined time.Time
	// joinSeen holds, from a join until the hold after it ends, the issue
	// time (unix ms) of the first attestation this node received of each
	// object: a holder re-issuing its record after the join (new proofs,
	// or a member lying) must not make an old object look new.
	joinSeen map[ObjectID]int64
	// connectSyncs paces the anti-entropy exchanges started as members
	// connect (SyncOnConnect).
	connectSyncs *limiter
}

const (
	// ConnectSyncs is how many anti-entropy exchanges a node starts at
	// once as members connect; the allowance refills at that many per
	// connectSyncRefill (see SyncOnConnect).
	ConnectSyncs      = 8
	connectSyncRefill = 30 * time.Second
)

// SyncOnConnect reports whether this node should start an anti-entropy
// exchange (its summary, the peer's answer) with member peer, which just
// connected: yes for the first ConnectSyncs connections, then for
// ConnectSyncs more every half minute.
//
// When a region heals, or a node comes back, every member connects
// within seconds. An exchange with each would send each one a summary
// listing every member and walk the whole ledger for each answer, with
// the same stale summary every time: both grow with the square of the
// federation (at 300 members, 521 MB in the first 5 s of a region's heal
// and most of its 521 CPU-seconds, in the core simulation). A few
// exchanges are enough. What this node missed while apart reaches it
// anyway: each holder delivers what waits in its outbox for this node
// when the two connect, tombstones go to every member so that any one
// exchange brings those this node lacks, and the periodic exchange with
// a random member fills what is left.
//
// The allowance is the node's, not each member's: a member that
// connects again and again takes the exchanges of the moment, and the
// others then catch up by the same ways as those beyond the first
// ConnectSyncs; what reconnecting can make this node do stays bounded.
// (A share per member would stop a member that reconnects from being
// pulled from at all, which is how a member that was away catches the
// others up.)
func (c *Core) SyncOnConnect(peer PeerID, now time.Time) bool {
	if _, member := c.members[peer]; !member || peer == c.self {
		return false
	}
	return c.connectSyncs.allow("", now, ConnectSyncs/connectSyncRefill.Seconds(), ConnectSyncs, 1)
}

// PeerDown records that this node lost its connection to peer (or could
// not dial it): copies peer claims stop counting until PeerUp. Repeated
// calls keep the earliest time.
func (c *Core) PeerDown(peer PeerID, now time.Time) {
	if peer == c.self {
		return
	}
	if _, down := c.down[peer]; down {
		return
	}
	c.down[peer] = now
	c.cancelChallengesTo(peer)
	c.markPeerDirty(peer)
	c.isolated = c.cutOff()
}

// PeerUp records that peer is connected again.
func (c *Core) PeerUp(peer PeerID, now time.Time) {
	if _, down := c.down[peer]; !down {
		return
	}
	delete(c.down, peer)
	if _, member := c.members[peer]; member && c.isolated {
		c.isolated, c.rejoined = false, now
	}
	if pr := c.rounds.pairs[peer]; pr != nil {
		// Prove its copies again now rather than at the pair's next round.
		pr.next = now
		c.rounds.scan = true
	}
	c.markPeerDirty(peer)
}

// Unreachable reports whether this node sees peer as unreachable, and
// since when.
func (c *Core) Unreachable(peer PeerID) (time.Time, bool) {
	t, ok := c.down[peer]
	return t, ok
}

// cancelChallengesTo forgets the round in flight to peer: the lost
// connection is accounted for by PeerDown, and a round that timed out
// only because the holder was restarting would be published as failures
// and dated before the restart.
func (c *Core) cancelChallengesTo(peer PeerID) {
	if pr := c.rounds.pairs[peer]; pr != nil && pr.inflight != 0 {
		c.CancelChallenge(pr.inflight)
	}
}

// markPeerDirty queues the objects whose status or repair candidates
// peer's reachability changes: those it attested, from the ledger's index
// by holder (so the work grows with what peer holds, not with the
// ledger), and those short of their target.
func (c *Core) markPeerDirty(peer PeerID) {
	for e := range c.ledger.attestedBy(peer) {
		c.dirty[e.id] = true
	}
	for obj := range c.below {
		c.dirty[obj] = true
	}
}

// repairHold is the earliest time repair may start: ReconnectGrace after
// this node started (its first Tick), or after it got its first
// connection back having lost every other (rejoined). A node cut off from
// every member sees every other copy as unreachable; when the network
// lets it back, its connections return one by one over a few seconds,
// and until the holders of an object are back it would fetch that object
// from the first one that is.
func (c *Core) repairHold() time.Time {
	start := c.started
	if c.rejoined.After(start) {
		start = c.rejoined
	}
	return start.Add(c.cfg.ReconnectGrace)
}

// placementHold is the earliest time this node may place a copy of obj,
// whose holders' current attestations were issued at firstIssued at the
// earliest (unix ms): at once for an object attested since this node last
// joined or rejoined, else not before repairHold. The first attestation
// received since the join counts too, whatever re-issued it later.
func (c *Core) placementHold(obj ObjectID, firstIssued int64) time.Time {
	if seen, ok := c.joinSeen[obj]; ok && (firstIssued == 0 || seen < firstIssued) {
		firstIssued = seen
	}
	if firstIssued == 0 || firstIssued >= c.rejoined.UnixMilli() {
		return time.Time{}
	}
	return c.repairHold()
}

// joined notes, when a new roster gives this node its first other
// member, that it has just joined a federation.
func (c *Core) joined(hadOthers bool, now time.Time) {
	if !hadOthers && c.otherMembers() > 0 {
		c.rejoined = now
		c.joinSeen = map[ObjectID]int64{}
	}
}

// noteSeenSinceJoin records the issue time of the first attestation of
// a's object received since the join, while the hold after it lasts.
func (c *Core) noteSeenSinceJoin(a Attestation) {
	if c.joinSeen == nil {
		return
	}
	if _, ok := c.joinSeen[a.Object]; !ok && len(c.joinSeen) < maxJoinSeen {
		c.joinSeen[a.Object] = a.IssuedAt.UnixMilli()
	}
}

// maxJoinSeen bounds joinSeen (about 100 bytes an object, for
// ReconnectGrace after a join): past it, objects are judged by their
// holders' current attestations alone.
const maxJoinSeen = 200_000

// endJoinWatch forgets the first attestations seen since the join once
// the hold after it is over: they decide nothing any more.
func (c *Core) endJoinWatch(now time.Time) {
	if c.joinSeen != nil && !now.Before(c.repairHold()) {
		c.joinSeen = nil
	}
}

// otherMembers is how many members the roster has besides this node.
func (c *Core) otherMembers() int {
	n := len(c.members)
	if _, self := c.members[c.self]; self {
		n--
	}
	return n
}

// cutOff reports whether this node has other members and has lost its
// connection to every one of them.
func (c *Core) cutOff() bool {
	others := 0
	for p := range c.members {
		if p == c.self {
			continue
		}
		if _, down := c.down[p]; !down {
			return false
		}
		others++
	}
	return others > 0
}

// firstIssued is the earliest issue time (unix ms) of the attestations
// of e's holders; 0 when e is nil or has none.
func (e *objectEntry) firstIssued() int64 {
	var first int64
	if e == nil {
		return 0
	}
	for i := range e.pairs {
		if p := e.pairs[i].issued; first == 0 || p < first {
			first = p
		}
	}
	return first
}
