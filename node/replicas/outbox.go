package replicas

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/replication"
)

const (
	// deliverBatch bounds the attestations sent on one stream.
	deliverBatch = 512
	// deliverRetry is the first wait after a failed delivery to a peer
	// that is connected; it doubles up to deliverRetryMax. A peer that is
	// not connected is tried again when it connects.
	deliverRetry    = 2 * time.Second
	deliverRetryMax = 2 * time.Minute
)

// Outbox holds, per peer, the newest attestation of each object still to
// be delivered, and admits at most one sender per peer. Held attestations
// survive the peer being offline (they are bounded by the objects the two
// share); they do not survive a restart, after which every holder attests
// its copies afresh. Its zero value is ready.
type Outbox struct {
	mu    sync.Mutex
	peers map[peer.ID]*peerOutbox // guarded by mu
}

type peerOutbox struct {
	pending map[recordKey]replication.Attestation
	sending bool          // a sender runs for this peer
	backoff time.Duration // after a failure; 0 after a success
}

// recordKey names one holder's record of one object: a newer attestation
// replaces an older one still waiting.
type recordKey struct {
	obj    replication.ObjectID
	holder replication.PeerID
}

func keyOf(a replication.Attestation) recordKey { return recordKey{a.Object, a.Holder} }

// Add queues a for p and reports whether p's sender must be started.
func (o *Outbox) Add(p peer.ID, a replication.Attestation) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.peers == nil {
		o.peers = map[peer.ID]*peerOutbox{}
	}
	q := o.peers[p]
	if q == nil {
		q = &peerOutbox{pending: map[recordKey]replication.Attestation{}}
		o.peers[p] = q
	}
	q.queue(a)
	start := !q.sending
	q.sending = true
	return start
}

// queue keeps a unless a newer record of the same holder and object waits.
func (q *peerOutbox) queue(a replication.Attestation) {
	if old, ok := q.pending[keyOf(a)]; !ok || old.Seq < a.Seq {
		q.pending[keyOf(a)] = a
	}
}

// Resume reports whether p has attestations waiting and no sender, and
// marks its sender started.
func (o *Outbox) Resume(p peer.ID) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.peers[p]
	if q == nil || len(q.pending) == 0 || q.sending {
		return false
	}
	q.sending, q.backoff = true, 0
	return true
}

// Take removes up to deliverBatch attestations from p's queue, or marks
// its sender stopped when the queue is empty. Only p's sender calls it.
func (o *Outbox) Take(p peer.ID) []replication.Attestation {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.peers[p]
	if q == nil {
		return nil
	}
	if len(q.pending) == 0 {
		q.sending = false
		return nil
	}
	batch := make([]replication.Attestation, 0, min(len(q.pending), deliverBatch))
	for k, a := range q.pending {
		if len(batch) == deliverBatch {
			break
		}
		batch = append(batch, a)
		delete(q.pending, k)
	}
	return batch
}

// Sent records a delivery to p that succeeded.
func (o *Outbox) Sent(p peer.ID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if q := o.peers[p]; q != nil {
		q.backoff = 0
	}
}

// PutBack requeues what a failed delivery did not send, unless newer
// records of the same holders and objects were queued meanwhile. While p
// is connected it says how long to wait before trying again; otherwise
// it stops p's sender until p connects (Resume).
func (o *Outbox) PutBack(p peer.ID, batch []replication.Attestation, connected bool) (time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.peers[p]
	if q == nil {
		return 0, false
	}
	for _, a := range batch {
		q.queue(a)
	}
	if !connected {
		q.sending = false
		return 0, false
	}
	q.backoff = min(max(2*q.backoff, deliverRetry), deliverRetryMax)
	return q.backoff, true
}

// Retain drops the queues of the peers keep refuses (members revoked or
// expired: nothing will be delivered to them), so that what waits for
// them does not stay in memory. A sender running for such a peer finds
// nothing more to take and stops.
func (o *Outbox) Retain(keep func(peer.ID) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for p, q := range o.peers {
		if !keep(p) {
			clear(q.pending)
			if !q.sending {
				delete(o.peers, p)
			}
		}
	}
}

// Pending counts the attestations waiting for their peers.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	total := 0
	for _, q := range o.peers {
		total += len(q.pending)
	}
	return total
}
