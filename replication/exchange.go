package replication

import (
	"fmt"
	"slices"
	"time"
)

// One round's exchange, at both ends: the holder deciding its answer
// (HandleChallenge, within the challenger's allowance), and the
// challenger judging it item by item (ChallengeResponse, or timeouts at
// the deadline), then recording what a round passed in full vouches for.

// ChallengeResponse judges the answer from peer to one of this node's
// challenges and returns each item's result. expected holds, per item,
// Digest(nonce, blocks) over this node's own copy of the item's blocks;
// a zero digest leaves the item unjudged (ResultNone: this node could not
// read its own copy, which says nothing about the holder's), as does an
// item whose object this node no longer holds. An answer of the wrong
// length fails every item. An answer after the deadline is taken as lost,
// as the next Tick would have taken it (see expireChallenges).
func (c *Core) ChallengeResponse(from PeerID, resp Response, expected [][32]byte, now time.Time) ([]Result, error) {
	ch, ok := c.rounds.pending[resp.ID]
	if !ok || ch.Holder != from {
		return nil, fmt.Errorf("response %d from %s: %w", resp.ID, from, ErrUnknownChallenge)
	}
	if len(expected) != len(ch.Items) {
		return nil, fmt.Errorf("response %d: %d expected digests for %d items: %w", resp.ID, len(expected), len(ch.Items), ErrMalformed)
	}
	results := make([]Result, len(ch.Items))
	if now.After(ch.Deadline) {
		// Past the deadline, before a Tick expired the round: as if lost.
		c.expire(ch, now)
		return results, nil
	}
	for i := range ch.Items {
		switch {
		case expected[i] == [32]byte{} || !c.Holds(ch.Items[i].Object):
			results[i] = ResultNone
		case len(resp.Answers) != len(ch.Items):
			results[i] = ResultFail
		case resp.Answers[i].Refused:
			results[i] = ResultRefused
		case resp.Answers[i].Digest != expected[i]:
			results[i] = ResultFail
		default:
			results[i] = ResultPass
		}
	}
	c.finishChallenge(ch, results, now)
	return results, nil
}

// CancelChallenge forgets a challenge the node could not send. The
// challenged holder is not blamed; its copies are looked at again.
func (c *Core) CancelChallenge(id ChallengeID) {
	ch, ok := c.rounds.pending[id]
	if !ok {
		return
	}
	delete(c.rounds.pending, id)
	c.endRound(ch)
	for _, it := range ch.Items {
		c.dirty[it.Object] = true
	}
}

func (c *Core) endRound(ch *Challenge) *pairRounds {
	pr := c.rounds.pairs[ch.Holder]
	if pr != nil && pr.inflight == ch.ID {
		pr.inflight, pr.checking = 0, nil
	}
	c.rounds.scan = true
	return pr
}

func (c *Core) finishChallenge(ch *Challenge, results []Result, now time.Time) {
	delete(c.rounds.pending, ch.ID)
	pr := c.endRound(ch)
	full := true
	for i, it := range ch.Items {
		r := results[i]
		if r != ResultPass {
			full = false
		}
		if r == ResultNone {
			continue
		}
		// The outcome is dated when the challenge was issued: the holder
		// answered about its copy somewhere between then and now, and an
		// attestation it issued meanwhile (say, a copy fetched back) must
		// count as newer than the outcome, so that it is checked again at
		// once instead of an interval later.
		confirms := r == ResultPass && c.confirmsPass(it.Object, ch.Holder, now)
		c.ledger.RecordCheck(it.Object, c.self, ch.Holder, ch.IssuedAt, r)
		if !confirms {
			c.dirty[it.Object] = true
		}
		if c.Holds(it.Object) && c.proofNews(it.Object) {
			c.toAttest[it.Object] = true
		}
	}
	if !ch.Sampled || pr == nil {
		return
	}
	pr.escalate = !full
	if !full {
		pr.next = minTime(pr.next, now.Add(c.cfg.ChallengeInterval/10))
		return
	}
	c.roundPassed(ch.Holder, pr, ch.IssuedAt, now)
}

// roundPassed records a sampled round passed in full: the pair's copies
// count on it, and the next statement says so. When the pair's evidence
// was stale, every copy peer holds is looked at again.
func (c *Core) roundPassed(peer PeerID, pr *pairRounds, at, now time.Time) {
	wasFresh := !pr.passedAt.IsZero() && now.Sub(pr.passedAt) <= c.cfg.ProofFreshness
	pr.passedAt = at
	c.setRound(c.self, peer, at)
	c.rounds.statementDue = true
	if !wasFresh {
		c.markPeerDirty(peer)
	}
}

// confirmsPass reports whether a pass of peer's copy of obj only
// confirms what the counting rule already says: the copy counts as
// verified now. A newer pass cannot make it count less, so the object's
// status stays the same but for the copy's age, and the object is not
// evaluated for it: a pair's sampled rounds then cost no evaluation per
// copy they confirm. (An object woken when an earlier pass would have
// gone stale is still looked at then, and finds it fresh.)
func (c *Core) confirmsPass(obj ObjectID, peer PeerID, now time.Time) bool {
	e := c.ledger.objects.get(obj)
	h, ok := c.ledger.peers.lookup(string(peer))
	if !ok {
		return false
	}
	i := e.find(h)
	if i < 0 {
		return false
	}
	j := c.judge(now)
	return j.holder(obj, e, &e.pairs[i]).state == HolderVerified
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// proofNews reports whether this node's checks of obj's other holders
// are worth a new attestation: a result differs from the one last
// published (a copy started or stopped passing, or a new holder was
// checked). A check that only confirms the published result is not
// news: the pair's rounds keep the copy's evidence fresh through this
// node's Statement, so an object is signed again only when it changes.
func (c *Core) proofNews(obj ObjectID) bool {
	lo := c.local[obj]
	if lo == nil {
		return true
	}
	current := c.localProofs(obj)
	if len(current) != len(lo.published) {
		return true
	}
	for i, p := range current { // both sorted by peer
		was := lo.published[i]
		if p.Peer != was.Peer || p.Result != was.Result {
			return true
		}
	}
	return false
}

// expireChallenges ends the rounds unanswered past their deadline. A
// round lost on the way, or its answer, says nothing about the copies it
// covers: no item is judged (a lost message must not drop a healthy copy,
// let alone the 160 of a sample), the pair's evidence is not refreshed,
// its next round comes at a tenth of the interval, and the copies still
// waiting for a first check are queued again. A holder that never answers
// stops counting when its last round goes stale (ProofFreshness); one
// whose connection closed, at once (PeerDown).
func (c *Core) expireChallenges(now time.Time) {
	var late []ChallengeID
	for id, ch := range c.rounds.pending {
		if now.After(ch.Deadline) {
			late = append(late, id)
		}
	}
	slices.Sort(late)
	for _, id := range late {
		c.expire(c.rounds.pending[id], now)
	}
}

// expire ends a round that was not answered by its deadline, judging no
// item. Its copies are looked at again: those still waiting for a first
// check are queued for the pair's next round (scheduleChallenges).
func (c *Core) expire(ch *Challenge, now time.Time) {
	c.finishChallenge(ch, make([]Result, len(ch.Items)), now)
	for _, it := range ch.Items {
		c.dirty[it.Object] = true
	}
}

// HandleChallenge decides how this node answers a challenge from peer
// from. It returns ErrUnknownMember, ErrRevokedMember, ErrRateLimited or
// ErrMalformed when the challenge should be dropped unanswered. Otherwise
// refuse says, per item, to answer "refused" (this node does not hold the
// object, or its copy has fewer blocks than the item names); for the
// others, answer Digest(ch.Nonce, the blocks at the item's leaves).
func (c *Core) HandleChallenge(from PeerID, ch Challenge, now time.Time) (refuse []bool, err error) {
	if _, ok := c.members[from]; !ok {
		if c.revoked[from] {
			return nil, fmt.Errorf("challenge from %s: %w", from, ErrRevokedMember)
		}
		return nil, fmt.Errorf("challenge from %s: %w", from, ErrUnknownMember)
	}
	if err := checkItems(ch.Items); err != nil {
		return nil, fmt.Errorf("challenge from %s: %w", from, err)
	}
	// Each copy this node takes on earns every challenger one item: a
	// burst of new copies is checked as fast as it arrives. An item
	// weighs at least its blocks over ChallengeLeaves, so that asking for
	// many blocks per item costs what asking for them in many items does.
	blocks := 0
	for _, it := range ch.Items {
		blocks += len(it.Leaves)
	}
	cost := float64(max(len(ch.Items), blocks/c.cfg.ChallengeLeaves))
	if rate, burst := c.challengeAllowance(); !c.limiter.allowCredited(from, now, rate, burst, cost, c.localChurn) {
		return nil, fmt.Errorf("challenge from %s: %w", from, ErrRateLimited)
	}
	refuse = make([]bool, len(ch.Items))
	for i, it := range ch.Items {
		lo := c.local[it.Object]
		refuse[i] = lo == nil || !lo.held || it.Leaves[len(it.Leaves)-1] >= lo.leaves
	}
	return refuse, nil
}

// challengeAllowance is how many items one peer may have this node check,
// per second and in a burst: the configured floor, or what an honest
// challenger needs on a node with many objects: every local copy once
// (they are all new after a restart or a burst of adds), plus ten
// sampled rounds per interval (a failed round brings the next one to a
// tenth of the interval), at twice the steady rate to leave room for
// jitter and catching up.
func (c *Core) challengeAllowance() (rate, burst float64) {
	perInterval := float64(len(c.local) + 10*c.cfg.RoundSample)
	rate = max(c.cfg.ChallengeRate, 2*perInterval/c.cfg.ChallengeInterval.Seconds())
	burst = max(float64(c.cfg.ChallengeBurst), float64(MaxChallengeItems)+float64(len(c.local)))
	return rate, burst
}
