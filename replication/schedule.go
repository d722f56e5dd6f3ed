package replication

import (
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// wakeQueue holds the times at which objects need another look (a
// challenge falls due, a grace period ends, a proof goes stale).
type wakeQueue struct {
	items wakeHeap
	next  map[ObjectID]time.Time // earliest queued wake per object
}

type wake struct {
	at  time.Time
	obj ObjectID
}

type wakeHeap []wake

func (h wakeHeap) Len() int { return len(h) }
func (h wakeHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].obj < h[j].obj
}
func (h wakeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *wakeHeap) Push(x any)   { *h = append(*h, x.(wake)) }
func (h *wakeHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}

// push queues obj for at, unless an earlier wake is already queued.
func (q *wakeQueue) push(obj ObjectID, at time.Time) {
	if q.next == nil {
		q.next = map[ObjectID]time.Time{}
	}
	if t, ok := q.next[obj]; ok && !t.After(at) {
		return
	}
	q.next[obj] = at
	heap.Push(&q.items, wake{at: at, obj: obj})
}

// due pops every object whose wake time has come.
func (q *wakeQueue) due(now time.Time) []ObjectID {
	var out []ObjectID
	for len(q.items) > 0 && !q.items[0].at.After(now) {
		w := heap.Pop(&q.items).(wake)
		if t, ok := q.next[w.obj]; ok && t.Equal(w.at) {
			delete(q.next, w.obj)
			out = append(out, w.obj)
		}
	}
	return out
}

// scheduleChallenges challenges every other holder of a locally held
// object whose challenge is due, and queues a wake for the next one. An
// unreachable holder is not challenged (the challenge could only time out,
// and be published as a failure) until it is back (PeerUp).
func (c *Core) scheduleChallenges(obj ObjectID, v *view, now time.Time) {
	for _, h := range v.st.Holders {
		if h.Local || h.State == HolderRevoked || h.State == HolderReleased || h.State == HolderUnreachable {
			continue
		}
		if _, busy := c.inflight[checkKey{obj, h.Peer}]; busy {
			continue
		}
		due := c.challengeDue(obj, h, v)
		if due.After(now) {
			c.wakes.push(obj, due)
			continue
		}
		c.challenge(obj, h.Peer, now)
	}
}

// challengeDue is when holder h should next be challenged: at once if this
// node never challenged it, or if it re-attested after a failed challenge;
// otherwise one jittered ChallengeInterval after the last challenge.
func (c *Core) challengeDue(obj ObjectID, h HolderStatus, v *view) time.Time {
	at, r, ok := c.ledger.Check(obj, c.self, h.Peer)
	if !ok {
		return time.Time{}
	}
	if r != ResultPass && c.reattestedAfter(v, h.Peer, at) {
		return time.Time{}
	}
	return at.Add(c.jitteredInterval(obj, h.Peer, at))
}

func (c *Core) reattestedAfter(v *view, peer PeerID, at time.Time) bool {
	id, ok := c.ledger.peers.lookup(string(peer))
	if !ok || v.e == nil {
		return false
	}
	i := v.e.find(id)
	return i >= 0 && v.e.pairs[i].issued > at.UnixMilli()
}

// jitteredInterval spreads challenges over ±10% of ChallengeInterval,
// derived from a hash so that the same inputs give the same schedule.
func (c *Core) jitteredInterval(obj ObjectID, peer PeerID, last time.Time) time.Duration {
	h := sha256.New()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], c.checkSalt)
	binary.BigEndian.PutUint64(b[8:], uint64(last.UnixMilli()))
	h.Write(b[:])
	h.Write([]byte(obj))
	h.Write([]byte{0})
	h.Write([]byte(peer))
	frac := float64(binary.BigEndian.Uint64(h.Sum(nil))>>11)/(1<<53)*0.2 - 0.1
	iv := c.cfg.ChallengeInterval
	return iv + time.Duration(frac*float64(iv))
}

// challenge issues one challenge to peer about obj.
func (c *Core) challenge(obj ObjectID, peer PeerID, now time.Time) {
	ch, err := c.newChallenge(obj, peer, now)
	if err != nil {
		c.log.Warn("cannot issue challenge", "cid", obj, "peer", peer, "err", err)
		return
	}
	c.pending[ch.ID] = &ch
	c.inflight[checkKey{obj, peer}] = ch.ID
	c.out.Challenges = append(c.out.Challenges, ch)
}

func (c *Core) newChallenge(obj ObjectID, peer PeerID, now time.Time) (Challenge, error) {
	ch := Challenge{Object: obj, Holder: peer, IssuedAt: now, Deadline: now.Add(c.cfg.ChallengeTimeout)}
	id, err := randUint64(c.cfg.Rand)
	if err != nil {
		return ch, err
	}
	ch.ID = ChallengeID(id)
	if err := c.readRand(ch.Nonce[:]); err != nil {
		return ch, err
	}
	ch.Leaves, err = pickLeaves(c.cfg.Rand, c.local[obj].leaves, c.cfg.ChallengeLeaves)
	return ch, err
}

// ChallengeResponse judges the answer from peer to one of this node's
// challenges. expected is Digest(nonce, blocks) over this node's own copy
// of the challenged blocks (ignored when the answer is a refusal).
func (c *Core) ChallengeResponse(from PeerID, resp Response, expected [32]byte, now time.Time) (Result, error) {
	ch, ok := c.pending[resp.ID]
	if !ok || ch.Holder != from {
		return ResultNone, fmt.Errorf("response %d from %s: %w", resp.ID, from, ErrUnknownChallenge)
	}
	r := ResultPass
	switch {
	case now.After(ch.Deadline):
		r = ResultTimeout
	case resp.Refused:
		r = ResultRefused
	case resp.Digest != expected:
		r = ResultFail
	}
	c.finishChallenge(ch, r, now)
	return r, nil
}

// CancelChallenge forgets a challenge the node could not send or could not
// check (for example, its own copy of the blocks is unreadable). The
// challenged holder is not blamed.
func (c *Core) CancelChallenge(id ChallengeID) {
	if ch, ok := c.pending[id]; ok {
		delete(c.pending, id)
		delete(c.inflight, checkKey{ch.Object, ch.Holder})
	}
}

func (c *Core) finishChallenge(ch *Challenge, r Result, now time.Time) {
	delete(c.pending, ch.ID)
	delete(c.inflight, checkKey{ch.Object, ch.Holder})
	// The outcome is dated when the challenge was issued: the holder
	// answered about its copy somewhere between then and now, and an
	// attestation it issued meanwhile (say, a copy fetched back) must
	// count as newer than the outcome, so that it is challenged again at
	// once instead of an interval later.
	c.ledger.RecordCheck(ch.Object, c.self, ch.Holder, ch.IssuedAt, r)
	c.dirty[ch.Object] = true
	if c.Holds(ch.Object) && c.proofNews(ch.Object) {
		c.toAttest[ch.Object] = true
	}
}

// proofNews reports whether this node's challenges of obj's other holders
// are worth a new attestation: a result differs from the one last
// published (a copy started or stopped passing, or a new holder was
// checked), or a published proof is older than proofRefresh and a newer
// one is at hand. Republishing after every passed challenge would send
// each object R-1 times per challenge interval for no change; this way a
// healthy holder's proof is republished every second challenge, and a
// change goes out at once.
func (c *Core) proofNews(obj ObjectID) bool {
	lo := c.local[obj]
	if lo == nil {
		return true
	}
	refreshAfter := c.proofRefresh()
	current := c.localProofs(obj)
	if len(current) != len(lo.published) {
		return true
	}
	for i, p := range current { // both sorted by peer
		was := lo.published[i]
		if p.Peer != was.Peer || p.Result != was.Result || p.At.Sub(was.At) >= refreshAfter {
			return true
		}
	}
	return false
}

// expireChallenges turns unanswered challenges past their deadline into
// timeouts.
func (c *Core) expireChallenges(now time.Time) {
	var late []ChallengeID
	for id, ch := range c.pending {
		if now.After(ch.Deadline) {
			late = append(late, id)
		}
	}
	slices.Sort(late)
	for _, id := range late {
		c.finishChallenge(c.pending[id], ResultTimeout, now)
	}
}

// HandleChallenge decides how this node answers a challenge from peer
// from. It returns ErrUnknownMember, ErrRevokedMember, ErrRateLimited or
// ErrMalformed when the challenge should be dropped unanswered. Otherwise
// refuse says to answer "refused" (this node does not hold the object);
// when false, answer Digest(ch.Nonce, the blocks at ch.Leaves).
func (c *Core) HandleChallenge(from PeerID, ch Challenge, now time.Time) (refuse bool, err error) {
	if _, ok := c.members[from]; !ok {
		if c.revoked[from] {
			return false, fmt.Errorf("challenge from %s: %w", from, ErrRevokedMember)
		}
		return false, fmt.Errorf("challenge from %s: %w", from, ErrUnknownMember)
	}
	if rate, burst := c.challengeAllowance(); !c.limiter.allow(from, now, rate, burst) {
		return false, fmt.Errorf("challenge from %s: %w", from, ErrRateLimited)
	}
	if err := checkLeaves(ch.Leaves); err != nil {
		return false, fmt.Errorf("challenge from %s: %w", from, err)
	}
	lo := c.local[ch.Object]
	if lo == nil || !lo.held {
		return true, nil
	}
	if ch.Leaves[len(ch.Leaves)-1] >= lo.leaves {
		return false, fmt.Errorf("challenge from %s: %w: leaf %d of %d", from, ErrMalformed, ch.Leaves[len(ch.Leaves)-1], lo.leaves)
	}
	return false, nil
}

// challengeAllowance is how many challenges one peer may send: the
// configured floor, or, on a node with many objects, one per local object
// per challenge interval, at twice the steady rate to leave room for
// jitter and catching up. A holder legitimately challenges each copy it
// shares with this node once per interval, so a fixed limit would turn a
// large node's honest challengers away, its copies into timeouts, and
// those into needless repairs.
func (c *Core) challengeAllowance() (rate, burst float64) {
	perInterval := float64(len(c.local))
	rate = max(c.cfg.ChallengeRate, 2*perInterval/c.cfg.ChallengeInterval.Seconds())
	burst = max(float64(c.cfg.ChallengeBurst), perInterval)
	return rate, burst
}

// proofRefresh is how old a published proof may grow before the next
// challenge of the same holder is published even though its result did
// not change: 1.2 challenge intervals, so that every second challenge is
// (challenges come 0.9 to 1.1 intervals apart), but never so late that
// the published proof could go stale: it ages at most proofRefresh + 1.1
// intervals, which stays 0.4 intervals short of ProofFreshness.
func (c *Core) proofRefresh() time.Duration {
	return min(c.cfg.ChallengeInterval*12/10, c.cfg.ProofFreshness-c.cfg.ChallengeInterval*3/2)
}
