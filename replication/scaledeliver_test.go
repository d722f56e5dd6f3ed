package replication

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Delivery as node/deliver.go and node/replicas.Outbox do it. The node
// does not give up on an attestation: one that does not reach a peer
// waits in the sender's outbox, the newest per (object, holder), and goes
// again, after a backoff while the two stay connected, and when the peer
// connects again otherwise (redeliver). Ledger sync answers only with
// records newer than the newest the asking node has of each holder
// (Ledger.Missing), so without these retries a lost attestation among a
// holder's later ones would never be recovered.
//
// The node sends a peer's queue in batches of up to 512 on one stream;
// the simulation sends each attestation as its own message, as before,
// and retries what was lost as the node retries a failed batch.

const (
	scaleDeliverRetry    = 2 * time.Second // replicas.deliverRetry
	scaleDeliverRetryMax = 2 * time.Minute // replicas.deliverRetryMax
)

// scaleOutbox holds what one node has not delivered to one peer.
type scaleOutbox struct {
	pending  map[deliveryKey]*Attestation
	retrying bool          // a retry is queued
	backoff  time.Duration // doubles with each retry, 0 after a delivery
}

type deliveryKey struct {
	obj    ObjectID
	holder PeerID
}

func (n *scaleNode) outboxTo(to *scaleNode) *scaleOutbox {
	if n.outbox == nil {
		n.outbox = map[int32]*scaleOutbox{}
	}
	q := n.outbox[to.idx]
	if q == nil {
		q = &scaleOutbox{pending: map[deliveryKey]*Attestation{}}
		n.outbox[to.idx] = q
	}
	return q
}

// deliver sends att from n to to. A newer record of the same holder and
// object supersedes one still waiting; one that does not get through
// waits: for a retry if it was lost, for redeliver if the two are cut off.
func (s *scaleSim) deliver(n, to *scaleNode, att *Attestation, size int) {
	q := n.outboxTo(to)
	k := deliveryKey{att.Object, att.Holder}
	if w := q.pending[k]; w != nil {
		if w.Seq > att.Seq {
			return
		}
		delete(q.pending, k)
	}
	if !s.linked(n, to) {
		s.tally.held++
		q.pending[k] = att
		return
	}
	at, ok := s.send(n, to, msgAttest, size)
	if !ok {
		q.pending[k] = att
		s.retryLater(n, to, q)
		return
	}
	s.push(event{at: at, kind: evAttest, att: att, from: n.idx, to: to.idx})
}

// retryLater queues a retry of what waits for to, after the backoff.
func (s *scaleSim) retryLater(n, to *scaleNode, q *scaleOutbox) {
	if q.retrying {
		return
	}
	q.retrying = true
	q.backoff = min(max(2*q.backoff, scaleDeliverRetry), scaleDeliverRetryMax)
	s.push(event{at: s.now + q.backoff, kind: evFunc, fn: func() {
		q.retrying = false
		s.redeliver(n, to)
	}})
}

// redeliver sends again, in a fixed order, everything waiting for to;
// it stays waiting while the two are cut off.
func (s *scaleSim) redeliver(n, to *scaleNode) {
	q := n.outbox[to.idx]
	if q == nil || len(q.pending) == 0 || !s.linked(n, to) {
		return
	}
	keys := make([]deliveryKey, 0, len(q.pending))
	for k := range q.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b deliveryKey) int {
		return cmp.Or(strings.Compare(string(a.obj), string(b.obj)), strings.Compare(string(a.holder), string(b.holder)))
	})
	s.tally.resent += int64(len(keys))
	for _, k := range keys {
		att := q.pending[k]
		delete(q.pending, k)
		s.deliver(n, to, att, s.encodedLen(att))
	}
}

// delivered is an attestation's arrival: one that finds the two cut off
// goes back to the sender's outbox, as a failed stream does.
func (s *scaleSim) delivered(from, to *scaleNode, att *Attestation) {
	q := from.outboxTo(to)
	if !s.linked(from, to) {
		k := deliveryKey{att.Object, att.Holder}
		if w := q.pending[k]; w == nil || w.Seq < att.Seq {
			q.pending[k] = att
		}
		return
	}
	q.backoff = 0
	s.accept(to, att)
	s.wake(to)
}
