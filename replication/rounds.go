package replication

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"
)

// Rounds: how this node checks the copies other holders keep of the
// objects it holds, with one exchange per peer pair instead of one per
// copy (docs/scale.md).
//
//   - A copy this node has never checked, or whose holder re-attested it
//     after a failed check, is queued for the pair's next round, which
//     starts at once when none is in flight: new copies are checked
//     within a round trip, many in one challenge.
//   - Once per jittered ChallengeInterval the pair's round also carries a
//     sample of RoundSample copies drawn at random among every copy the
//     two share, one block each, plus the copies whose last check failed
//     an interval ago or more (so a timeout is retried). A holder missing
//     a fraction f of its blocks passes a round with probability
//     (1-f)^RoundSample.
//   - Each item is judged and recorded per copy, as its own challenge
//     would be. A sampled round whose every item passed vouches for the
//     pair: the copies of the pair that were not drawn count as verified
//     by this node at the round's time, as long as this node's latest
//     check of each did not fail (see evidence). A round that failed
//     brings the pair's next one forward to a tenth of the interval.
//   - What the pair's rounds vouch for reaches the other members in this
//     node's signed Statement: one per node, listing per holder the time
//     of its latest round passed in full.

// roundBook is this node's round state: per other holder, and the
// challenges in flight.
type roundBook struct {
	pairs   map[PeerID]*pairRounds
	pending map[ChallengeID]*Challenge
	// scan asks the next Tick to look at every pair (a copy was queued,
	// a round ended, a peer came back); otherwise Tick looks only once
	// due, the earliest time a pair's sampled round falls due.
	scan bool
	due  time.Time
	// expiries holds when each round recorded (this node's, and those
	// statements vouch for) goes stale: the holder's copies are looked at
	// again then, instead of one wake-up per copy.
	expiries expiryHeap
	// sampleBuf is drawSample's list of eligible copies, kept between
	// rounds so that a round with a peer sharing many copies allocates
	// nothing per copy.
	sampleBuf []*objectEntry
	statements
}

// pairRounds is this node's round state with one other holder.
type pairRounds struct {
	next     time.Time         // when the next sampled round falls due
	queued   map[ObjectID]bool // copies to check in the next round
	inflight ChallengeID       // the round in flight; 0 when none
	checking map[ObjectID]bool // the copies the round in flight covers
	passedAt time.Time         // the latest sampled round passed in full
	escalate bool              // the latest sampled round failed
}

func newRoundBook() roundBook {
	return roundBook{pairs: map[PeerID]*pairRounds{}, pending: map[ChallengeID]*Challenge{}, statements: newStatements()}
}

// pair returns the round state with peer, creating it due at once.
func (rb *roundBook) pair(peer PeerID) *pairRounds {
	pr := rb.pairs[peer]
	if pr == nil {
		pr = &pairRounds{queued: map[ObjectID]bool{}}
		rb.pairs[peer] = pr
		rb.scan = true
	}
	return pr
}

// scheduleChallenges makes sure every other holder of a locally held
// object has its pair's rounds, and queues the copy for the next round
// when it needs a check of its own: never checked by this node, or
// re-attested after a failed check.
func (c *Core) scheduleChallenges(obj ObjectID, v *view) {
	for _, h := range v.st.Holders {
		if h.Local || h.State == HolderRevoked || h.State == HolderReleased {
			continue
		}
		pr := c.rounds.pair(h.Peer)
		if pr.checking[obj] || pr.queued[obj] || !c.needsCheck(obj, h.Peer, v) {
			continue
		}
		pr.queued[obj] = true
		c.rounds.scan = true
	}
}

// needsCheck reports whether peer's copy of obj should be checked in the
// next round whatever the sample: this node never checked it, or the
// holder re-attested it after a failed check.
func (c *Core) needsCheck(obj ObjectID, peer PeerID, v *view) bool {
	at, r, ok := c.ledger.Check(obj, c.self, peer)
	return !ok || (r != ResultPass && c.reattestedAfter(v, peer, at))
}

func (c *Core) reattestedAfter(v *view, peer PeerID, at time.Time) bool {
	id, ok := c.ledger.peers.lookup(string(peer))
	if !ok || v.e == nil {
		return false
	}
	i := v.e.find(id)
	return i >= 0 && v.e.pairs[i].issued > at.UnixMilli()
}

// startRounds starts every round that can start: a pair with queued
// copies and no round in flight, or whose sampled round fell due. An
// unreachable holder is not challenged until it is back (PeerUp): the
// round could only time out, and be published as failures.
func (c *Core) startRounds(now time.Time) {
	rb := &c.rounds
	if !rb.scan && (rb.due.IsZero() || now.Before(rb.due)) {
		return
	}
	rb.scan, rb.due = false, time.Time{}
	for _, peer := range sortedKeys(rb.pairs) {
		pr := rb.pairs[peer]
		if _, member := c.members[peer]; !member {
			c.dropPair(peer)
			continue
		}
		if _, down := c.down[peer]; down || pr.inflight != 0 {
			continue
		}
		periodic := !now.Before(pr.next)
		if len(pr.queued) > 0 || periodic {
			if !c.startRound(peer, pr, periodic, now) {
				continue
			}
		}
		if rb.due.IsZero() || pr.next.Before(rb.due) {
			rb.due = pr.next
		}
	}
}

// dropPair forgets the rounds with peer, cancelling the one in flight.
func (c *Core) dropPair(peer PeerID) {
	if pr := c.rounds.pairs[peer]; pr != nil && pr.inflight != 0 {
		c.CancelChallenge(pr.inflight)
	}
	delete(c.rounds.pairs, peer)
}

// startRound issues one round to peer and reports whether the pair stays:
// a pair that shares no copy any more is forgotten.
func (c *Core) startRound(peer PeerID, pr *pairRounds, periodic bool, now time.Time) bool {
	limit := MaxChallengeItems
	if periodic {
		limit -= c.cfg.RoundSample // room for the sample, always
	}
	items, err := c.queuedItems(pr, limit)
	if err != nil {
		c.log.Warn("cannot issue challenge", "peer", peer, "err", err)
		return true
	}
	if periodic {
		pr.next = now.Add(c.roundInterval(peer, pr, now))
		taken := make(map[ObjectID]bool, len(items))
		for _, it := range items {
			taken[it.Object] = true
		}
		extra, shared, err := c.drawSample(peer, taken, MaxChallengeItems-len(items), now)
		if err != nil {
			c.log.Warn("cannot draw a round's sample", "peer", peer, "err", err)
			return true
		}
		if shared == 0 && len(items) == 0 {
			delete(c.rounds.pairs, peer)
			return false
		}
		items = append(items, extra...)
	}
	if len(items) == 0 {
		return true
	}
	slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.Object, b.Object) })
	// A periodic round covers the queued copies and a random sample of
	// all the others (every one of them, when they are few): passed in
	// full, it vouches for the pair.
	ch := Challenge{Holder: peer, Items: items, Sampled: periodic, IssuedAt: now, Deadline: now.Add(c.cfg.ChallengeTimeout)}
	id, err := randUint64(c.cfg.Rand)
	if err == nil {
		err = c.readRand(ch.Nonce[:])
	}
	if err != nil {
		c.log.Warn("cannot issue challenge", "peer", peer, "err", err)
		return true
	}
	ch.ID = ChallengeID(id | 1) // never 0, which marks no round in flight
	pr.inflight, pr.checking = ch.ID, make(map[ObjectID]bool, len(items))
	for _, it := range items {
		pr.checking[it.Object] = true
	}
	c.rounds.pending[ch.ID] = &ch
	c.out.Challenges = append(c.out.Challenges, ch)
	return true
}

// roundInterval is the time to the pair's next sampled round: a jittered
// ChallengeInterval, or a tenth of it after a failed round.
func (c *Core) roundInterval(peer PeerID, pr *pairRounds, now time.Time) time.Duration {
	iv := c.jitteredInterval(peer, now)
	if pr.escalate {
		iv /= 10
	}
	return iv
}

// queuedItems takes up to limit of the pair's queued copies, each with
// ChallengeLeaves blocks.
func (c *Core) queuedItems(pr *pairRounds, limit int) ([]Item, error) {
	var items []Item
	for _, obj := range sortedKeys(pr.queued) {
		if len(items) == limit {
			break
		}
		delete(pr.queued, obj)
		lo := c.local[obj]
		if lo == nil || !lo.held || c.deleted[obj] {
			continue
		}
		leaves, err := pickLeaves(c.cfg.Rand, lo.leaves, c.cfg.ChallengeLeaves)
		if err != nil {
			return items, err
		}
		items = append(items, Item{Object: obj, Leaves: leaves})
	}
	return items, nil
}

// drawSample picks, among the copies this node and peer both hold and
// not taken (already in the round, queued or in flight), up to room
// items: the copies whose last check failed at least an interval ago
// (retries), then RoundSample drawn uniformly at random among the rest,
// one block each. shared is how many copies the two share.
//
// It walks the peer's records once, keeping the eligible ones in a
// buffer reused from round to round, so that the draw costs RoundSample
// random numbers however many copies the two share. Whether this node
// holds a copy is read from its own record in the ledger, not looked up
// by name; the copies drawn are then checked against what this node
// holds now (a copy released this Tick is not yet attested so).
func (c *Core) drawSample(peer PeerID, taken map[ObjectID]bool, room int, now time.Time) (items []Item, shared int, err error) {
	h, ok := c.ledger.peers.lookup(string(peer))
	if !ok {
		return nil, 0, nil
	}
	self, selfOK := c.ledger.peers.lookup(string(c.self))
	if !selfOK {
		return nil, 0, nil
	}
	retryBefore := now.Add(-c.cfg.ChallengeInterval).UnixMilli()
	var retries []ObjectID
	eligible := c.rounds.sampleBuf[:0]
	for e := range c.ledger.attestedBy(peer) {
		if !heldBy(e, h) || !heldBy(e, self) || c.deleted[e.id] {
			continue
		}
		shared++
		if taken[e.id] {
			continue
		}
		if rec, found := localCheck(e, self, true, h); found && rec.result() != ResultPass {
			if rec.at() <= retryBefore {
				retries = append(retries, e.id)
			}
			continue
		}
		eligible = append(eligible, e)
	}
	picks, err := distinctBelow(c.cfg.Rand, len(eligible), min(c.cfg.RoundSample, len(eligible)))
	if err != nil {
		return nil, shared, err
	}
	sample := make([]ObjectID, 0, len(picks))
	for _, i := range picks {
		sample = append(sample, eligible[i].id)
	}
	clear(eligible)
	c.rounds.sampleBuf = eligible[:0]
	add := func(obj ObjectID, blocks int) error {
		lo := c.local[obj]
		if lo == nil || !lo.held {
			return nil
		}
		leaves, err := pickLeaves(c.cfg.Rand, lo.leaves, blocks)
		if err == nil {
			items = append(items, Item{Object: obj, Leaves: leaves})
		}
		return err
	}
	for _, obj := range retries {
		if len(items) == room {
			return items, shared, nil
		}
		if err := add(obj, c.cfg.ChallengeLeaves); err != nil {
			return items, shared, err
		}
	}
	for _, obj := range sample {
		if len(items) == room {
			break
		}
		if err := add(obj, 1); err != nil {
			return items, shared, err
		}
	}
	return items, shared, nil
}

// heldBy reports whether interned peer h's record of e says it holds a
// copy.
func heldBy(e *objectEntry, h uint32) bool {
	i := e.find(h)
	return i >= 0 && e.pairs[i].flags&flagHeld != 0
}

// localCheck finds this node's own latest check of holder h in e.
func localCheck(e *objectEntry, self uint32, selfOK bool, h uint32) (proofRec, bool) {
	if !selfOK {
		return proofRec{}, false
	}
	for _, pr := range e.proofs {
		if pr.local() && pr.verifier == self && pr.peer == h {
			return pr, true
		}
	}
	return proofRec{}, false
}

// jitteredInterval spreads a pair's rounds over ±10% of
// ChallengeInterval, derived from a hash so that the same inputs give
// the same schedule.
func (c *Core) jitteredInterval(peer PeerID, last time.Time) time.Duration {
	h := sha256.New()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], c.checkSalt)
	binary.BigEndian.PutUint64(b[8:], uint64(last.UnixMilli()))
	h.Write(b[:])
	h.Write([]byte(peer))
	frac := float64(binary.BigEndian.Uint64(h.Sum(nil))>>11)/(1<<53)*0.2 - 0.1
	iv := c.cfg.ChallengeInterval
	return iv + time.Duration(frac*float64(iv))
}
