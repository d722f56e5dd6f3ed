package replication

import (
	"container/heap"
	"time"
)

// When the rounds recorded go stale: one expiry per (verifier, holder)
// round, so that the copies counted on rounds are looked at again then,
// instead of one wake-up per copy.

// expiry is when verifier's round with holder, recorded at, goes stale.
type expiry struct {
	at               time.Time
	verifier, holder PeerID
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// setRound records verifier's latest round with holder passed in full,
// and when it will go stale; it returns the time it replaces.
func (c *Core) setRound(verifier, holder PeerID, passedAt time.Time) time.Time {
	before := c.ledger.SetRound(verifier, holder, passedAt)
	if !passedAt.After(before) {
		return before
	}
	heap.Push(&c.rounds.expiries, expiry{at: passedAt.Add(c.cfg.ProofFreshness + time.Millisecond), verifier: verifier, holder: holder})
	return before
}

// The ledger's side of rounds: the latest full round per (verifier,
// holder), kept beside the records the counting rule reads.

// SetRound records when verifier's latest sampled round of holder passed
// in full, and returns the time it replaces (zero when none).
func (l *Ledger) SetRound(verifier, holder PeerID, passedAt time.Time) time.Time {
	k := roundKey(l.peers.id(string(verifier)), l.peers.id(string(holder)))
	before := l.rounds[k]
	l.rounds[k] = passedAt.UnixMilli()
	return msTime(before)
}

// roundPassed is the unix ms of verifier's latest full round of holder;
// 0 when none.
func (l *Ledger) roundPassed(verifier, holder uint32) int64 {
	return l.rounds[roundKey(verifier, holder)]
}

func roundKey(verifier, holder uint32) uint64 { return uint64(verifier)<<32 | uint64(holder) }

// expireRounds looks again at the copies of every holder one of whose
// rounds went stale without a newer one.
func (c *Core) expireRounds(now time.Time) {
	h := &c.rounds.expiries
	for h.Len() > 0 && !(*h)[0].at.After(now) {
		x := heap.Pop(h).(expiry)
		v, okV := c.ledger.peers.lookup(string(x.verifier))
		k, okK := c.ledger.peers.lookup(string(x.holder))
		if okV && okK && now.Sub(msTime(c.ledger.roundPassed(v, k))) > c.cfg.ProofFreshness {
			c.markPeerDirty(x.holder)
		}
	}
}
