package replication

import (
	"encoding/binary"
	"errors"
	"slices"
	"time"
)

// The node's anti-entropy in the scale simulation (node/sync.go,
// node/members.go): a node sends a peer its ledger Summary, and the peer
// answers on the same stream with the attestations Missing says the node
// lacks, which it passes to Receive one by one. The node runs it with
// the members that connect, both ends at once, as far as SyncOnConnect
// allows, and every
// antiEntropyInterval with one connected peer drawn at random. Both
// messages are of kind msgSync and may be lost like any other; a lost
// answer loses the whole stream.

// scaleSyncPeriod is node's antiEntropyInterval.
const scaleSyncPeriod = 30 * time.Second

// periodicSync is one node's periodic anti-entropy: one peer it is
// linked to, drawn at random (a node cut off from every other has none).
func (s *scaleSim) periodicSync(n *scaleNode) {
	peers := make([]*scaleNode, 0, len(s.nodes))
	for _, p := range s.nodes {
		if p != n && s.linked(n, p) {
			peers = append(peers, p)
		}
	}
	if len(peers) > 0 {
		s.syncLedger(n, peers[s.syncRng.IntN(len(peers))])
	}
}

// syncLedger is node.syncLedger: a sends b its summary; b answers with
// what a lacks among the objects a should hear of.
func (s *scaleSim) syncLedger(a, b *scaleNode) {
	sum := a.core.Ledger().Summary()
	s.post(a, b, msgSync, s.encodedLen(&sum), func() {
		missing := b.core.Missing(sum, a.id)
		size := 0
		for i := range missing {
			n := s.encodedLen(&missing[i])
			size += uvarintLen(n) + n // one frame each
		}
		s.tally.syncAtts += int64(len(missing))
		s.post(b, a, msgSync, size, func() {
			for i := range missing {
				s.accept(a, &missing[i])
			}
			s.wake(a)
		})
	})
}

// scaleMemberCheck is node's memberCheckInterval: how often a node dials
// the members it is not connected to.
const scaleMemberCheck = 2 * time.Second

// reconnect lets the nodes of back reach the others again, and connects
// each pair as the node does: at the first member check of either end
// (each node checks at a phase of its own), a dial's round trip later.
// The dial backoff of members that stayed unreachable (up to a minute)
// would postpone all of it, not spread it further: every pair failed on
// the same schedule.
func (s *scaleSim) reconnect(back []*scaleNode) {
	if s.apart == nil {
		s.apart = map[[2]int32]bool{}
	}
	for _, n := range back {
		n.dark = false
	}
	for _, a := range s.nodes {
		for _, b := range s.nodes {
			if a.idx >= b.idx || !(slices.Contains(back, a) || slices.Contains(back, b)) {
				continue
			}
			k := pairOf(a, b)
			s.apart[k] = true
			at := s.now + min(s.untilCheck(a), s.untilCheck(b)) + 2*s.latency(a, b)
			s.push(event{at: at, kind: evFunc, fn: func() {
				delete(s.apart, k)
				s.connected(a, b)
			}})
		}
	}
}

// untilCheck is the time to n's next member check.
func (s *scaleSim) untilCheck(n *scaleNode) time.Duration {
	phase := scaleMemberCheck * time.Duration(n.idx) / time.Duration(len(s.nodes))
	return ((phase-s.now)%scaleMemberCheck + scaleMemberCheck) % scaleMemberCheck
}

func pairOf(a, b *scaleNode) [2]int32 {
	return [2]int32{min(a.idx, b.idx), max(a.idx, b.idx)}
}

// connected is what node.connectionOpened does about replication when a
// and b connect, at both ends: PeerUp, a ledger sync each way (as far as
// SyncOnConnect allows), what
// waits in each one's outbox for the other, and each one's latest
// statement.
func (s *scaleSim) connected(a, b *scaleNode) {
	now := s.time()
	a.core.PeerUp(b.id, now)
	b.core.PeerUp(a.id, now)
	if a.core.SyncOnConnect(b.id, now) {
		s.syncLedger(a, b)
	}
	if b.core.SyncOnConnect(a.id, now) {
		s.syncLedger(b, a)
	}
	s.redeliver(a, b)
	s.redeliver(b, a)
	s.pushStatement(a, b)
	s.pushStatement(b, a)
	s.wake(a)
	s.wake(b)
}

// pushStatement is node.pushStatement: from's latest statement to a
// member that just connected, if it has one.
func (s *scaleSim) pushStatement(from, to *scaleNode) {
	if st, ok := from.core.LatestStatement(to.id); ok {
		s.post(from, to, msgStatement, s.encodedLen(&st), func() { s.acceptStatement(to, &st) })
	}
}

// accept is node.receiveAttestation: replays are routine (delivery and
// anti-entropy overlap), other refusals are counted.
func (s *scaleSim) accept(to *scaleNode, att *Attestation) {
	err := to.core.Receive(*att, s.time())
	switch {
	case errors.Is(err, ErrReplay):
		s.tally.replays++
	case err != nil:
		s.reject("attestation", err)
	}
}

func (s *scaleSim) acceptStatement(to *scaleNode, st *Statement) {
	if err := to.core.ReceiveStatement(*st, s.time()); err != nil && !errors.Is(err, ErrReplay) {
		s.reject("statement", err)
	}
	s.wake(to)
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}
