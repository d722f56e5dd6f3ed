package node

import (
	"bufio"
	"context"
	"errors"
	"io"
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

// deliverTimeout bounds one stream: dial, write, and the peer's reply.
const deliverTimeout = 30 * time.Second

// deliver queues an outgoing attestation for each of its peers and starts
// their senders.
func (n *Node) deliver(out replication.Outgoing) {
	for _, to := range out.To {
		p, err := peer.Decode(string(to))
		if err != nil || p == n.net.host.ID() {
			continue
		}
		if n.repl.outbox.Add(p, out.Attestation) {
			n.spawn(func(ctx context.Context) { n.sendPending(ctx, p) })
		}
	}
}

// redeliver starts the sender of a peer that just connected, if it has
// attestations waiting.
func (n *Node) redeliver(p peer.ID) {
	if n.repl.outbox.Resume(p) {
		n.spawn(func(ctx context.Context) { n.sendPending(ctx, p) })
	}
}

// sendPending delivers p's queue a batch at a time until it is empty, or
// until a delivery fails; then it retries with backoff while p stays
// connected, and leaves the rest for redeliver otherwise.
func (n *Node) sendPending(ctx context.Context, p peer.ID) {
	for {
		batch := n.repl.outbox.Take(p)
		if len(batch) == 0 {
			return
		}
		err := n.sendAttestations(ctx, p, batch)
		if err == nil {
			n.repl.outbox.Sent(p)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		n.logger.Debug("deliver attestations", "peer", p, "count", len(batch), "err", err)
		wait, retry := n.repl.outbox.PutBack(p, batch, n.net.host.Network().Connectedness(p) == network.Connected)
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

// sendAttestations writes a batch on one stream and waits for the peer to
// confirm it read them all.
func (n *Node) sendAttestations(ctx context.Context, p peer.ID, batch []replication.Attestation) error {
	ctx, cancel := context.WithTimeout(ctx, deliverTimeout)
	defer cancel()
	s, err := n.net.host.NewStream(ctx, p, AttestProtocol)
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
