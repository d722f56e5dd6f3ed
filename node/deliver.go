package node

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-fed/cairn/internal/wire"
	"github.com/cairn-fed/cairn/replication"
)

// AttestProtocol carries attestations to the peers they are addressed to
// (replication.Outgoing): the sender writes frames, each a uvarint length
// and one attestation, and closes its side; the receiver applies every
// frame, then closes its side, which tells the sender they all arrived.
const AttestProtocol = protocol.ID(ProtocolPrefix + "/attest/1.0.0")

const (
	// deliverBatch bounds the attestations sent on one stream.
	deliverBatch = 512
	// deliverTimeout bounds one stream: dial, write, and the peer's reply.
	deliverTimeout = 30 * time.Second
	// deliverRetry is the first wait after a failed delivery to a peer
	// that is connected; it doubles up to deliverRetryMax. A peer that is
	// not connected is tried again when it connects.
	deliverRetry    = 2 * time.Second
	deliverRetryMax = 2 * time.Minute
)

// outbox holds, per peer, the newest attestation of each object still to
// be delivered, and runs at most one sender per peer. Held attestations
// survive the peer being offline (they are bounded by the objects the two
// share); they do not survive a restart, after which every holder attests
// its copies afresh.
type outbox struct {
	mu    sync.Mutex
	peers map[peer.ID]*peerOutbox // guarded by mu
}

type peerOutbox struct {
	pending map[recordKey]replication.Attestation
	sending bool          // a sender goroutine runs for this peer
	backoff time.Duration // after a failure; 0 after a success
}

// recordKey names one holder's record of one object: a newer attestation
// replaces an older one still waiting.
type recordKey struct {
	obj    replication.ObjectID
	holder replication.PeerID
}

func keyOf(a replication.Attestation) recordKey { return recordKey{a.Object, a.Holder} }

// deliver queues an outgoing attestation for each of its peers and starts
// their senders.
func (n *Node) deliver(out replication.Outgoing) {
	for _, to := range out.To {
		p, err := peer.Decode(string(to))
		if err != nil || p == n.host.ID() {
			continue
		}
		if n.outbox.add(p, out.Attestation) {
			n.spawn(func(ctx context.Context) { n.sendPending(ctx, p) })
		}
	}
}

// redeliver starts the sender of a peer that just connected, if it has
// attestations waiting.
func (n *Node) redeliver(p peer.ID) {
	if n.outbox.resume(p) {
		n.spawn(func(ctx context.Context) { n.sendPending(ctx, p) })
	}
}

// sendPending delivers p's queue a batch at a time until it is empty, or
// until a delivery fails; then it retries with backoff while p stays
// connected, and leaves the rest for redeliver otherwise.
func (n *Node) sendPending(ctx context.Context, p peer.ID) {
	for {
		batch := n.outbox.take(p)
		if len(batch) == 0 {
			return
		}
		err := n.sendAttestations(ctx, p, batch)
		if err == nil {
			n.outbox.sent(p)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		n.logger.Debug("deliver attestations", "peer", p, "count", len(batch), "err", err)
		wait, retry := n.outbox.putBack(p, batch, n.host.Network().Connectedness(p) == network.Connected)
		if !retry {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// add queues a for p and reports whether p's sender must be started.
func (o *outbox) add(p peer.ID, a replication.Attestation) bool {
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

// resume reports whether p has attestations waiting and no sender, and
// marks its sender started.
func (o *outbox) resume(p peer.ID) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.peers[p]
	if q == nil || len(q.pending) == 0 || q.sending {
		return false
	}
	q.sending, q.backoff = true, 0
	return true
}

// take removes up to deliverBatch attestations from p's queue, or marks
// its sender stopped when the queue is empty.
func (o *outbox) take(p peer.ID) []replication.Attestation {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.peers[p]
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

// sent records a delivery that succeeded.
func (o *outbox) sent(p peer.ID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.peers[p].backoff = 0
}

// putBack requeues what a failed delivery did not send, unless newer
// records of the same holders and objects were queued meanwhile. While p
// is connected it says how long to wait before trying again; otherwise
// it stops p's sender until p connects.
func (o *outbox) putBack(p peer.ID, batch []replication.Attestation, connected bool) (time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.peers[p]
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

// pending counts the attestations waiting for their peers.
func (o *outbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	total := 0
	for _, q := range o.peers {
		total += len(q.pending)
	}
	return total
}

// sendAttestations writes a batch on one stream and waits for the peer to
// confirm it read them all.
func (n *Node) sendAttestations(ctx context.Context, p peer.ID, batch []replication.Attestation) error {
	ctx, cancel := context.WithTimeout(ctx, deliverTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, AttestProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(deliverTimeout))
	w := bufio.NewWriter(s)
	for _, a := range batch {
		data, err := a.MarshalBinary()
		if err != nil {
			continue // never signed badly by this node; skip rather than stall
		}
		if err := wire.WriteFrame(w, data); err != nil {
			s.Reset()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		s.Reset()
		return err
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return err
	}
	if _, err := io.Copy(io.Discard, s); err != nil {
		return err
	}
	return nil
}

// handleAttestStream applies the attestations a peer delivers, then
// closes, confirming receipt. A frame that does not decode is refused
// (and counted) and ends the stream with a reset: an honest sender never
// writes one.
func (n *Node) handleAttestStream(ctx context.Context, s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(deliverTimeout))
	from := s.Conn().RemotePeer()
	ctx, cancel := context.WithTimeout(ctx, deliverTimeout)
	defer cancel()
	r := bufio.NewReader(s)
	for {
		frame, err := wire.ReadFrame(r, maxAttestationBytes)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			s.Reset()
			return
		}
		a, err := replication.DecodeAttestation(frame)
		if err != nil {
			n.rejected.note(n.logger, "attestation", from.String(), err)
			s.Reset()
			return
		}
		n.receiveAttestation(ctx, a, from)
	}
}
