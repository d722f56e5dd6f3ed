package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-fed/cairn/internal/wire"
	"github.com/cairn-fed/cairn/replication"
)

// The replica ledger spreads two ways:
//
//   - delivery: every attestation a node signs goes to the object's
//     audience (replication.Outgoing) over /cairn/attest/1.0.0, held for
//     peers that are offline until they connect (deliver.go);
//   - anti-entropy: when two members connect, each opens (a few at a
//     time: replication.Core.SyncOnConnect) /cairn/ledger-sync/1.0.0
//     and sends its ledger Summary (one frame);
//     the other answers with the attestations the sender lacks among the
//     objects it should hear of (one frame each, then end of stream).
//     Frames are a uvarint length and the bytes.

// LedgerSyncProtocol is the anti-entropy stream protocol.
const LedgerSyncProtocol = protocol.ID(ProtocolPrefix + "/ledger-sync/1.0.0")

const (
	maxSummaryBytes     = 8 << 20 // a summary of 65536 holders fits
	maxAttestationBytes = 64 << 10
	syncTimeout         = 30 * time.Second
)

// receiveAttestation merges one attestation from a peer and persists it
// when the core accepts it. Replays are normal (delivery and anti-entropy
// overlap); other rejections are logged.
func (n *Node) receiveAttestation(ctx context.Context, a replication.Attestation, from peer.ID) {
	var err error
	n.repl.Do(func(c *replication.Core) { err = c.Receive(a, time.Now()) })
	switch {
	case err == nil:
		if err := n.repl.ledger.Store(ctx, a); err != nil {
			// Counted here until a restart; the holder offers it again.
			n.logger.Warn("accepted attestation not recorded", "err", err)
		}
		n.retryPending(ctx, string(a.Object))
	case errors.Is(err, replication.ErrReplay):
		// delivery, forwarding and anti-entropy overlap: routine, not a refusal
	case errors.Is(err, replication.ErrOverBound):
		// The bounds apply after the holder's signature is checked: the
		// holder, not whoever relayed its attestation, is over its bound.
		n.rejected.noteOverBound(n.logger, "attestation", string(a.Holder), err, time.Now())
	default:
		n.rejected.note(n.logger, "attestation", from.String(), err, "cid", a.Object)
	}
}

// onMemberConnected starts an anti-entropy exchange with a new peer,
// unless as many started just now (replication.Core.SyncOnConnect): when
// a region heals every member connects at once.
func (n *Node) onMemberConnected(p peer.ID) {
	if n.currentRoster() == nil {
		return
	}
	var sync bool
	n.repl.Do(func(c *replication.Core) { sync = c.SyncOnConnect(replication.PeerID(p.String()), time.Now()) })
	if sync {
		n.spawn(func(ctx context.Context) { n.antiEntropy(ctx, p) })
	}
}

// antiEntropy pulls from p the tombstones, then the attestations, that
// this node lacks. It runs on every new connection and, because gossip can
// drop tombstones under load, periodically with a random member.
func (n *Node) antiEntropy(ctx context.Context, p peer.ID) {
	if err := n.syncTombstones(ctx, p); err != nil && ctx.Err() == nil {
		n.logger.Debug("tombstone sync", "peer", p, "err", err)
	}
	if err := n.syncLedger(ctx, p); err != nil && ctx.Err() == nil {
		n.logger.Debug("ledger sync", "peer", p, "err", err)
	}
}

// syncLedger sends our summary to p and merges what p says we lack.
func (n *Node) syncLedger(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	var sum replication.Summary
	n.repl.Read(func(c *replication.Core) { sum = c.Ledger().Summary() })
	data, err := sum.MarshalBinary()
	if err != nil {
		return err
	}
	s, err := n.net.host.NewStream(network.WithAllowLimitedConn(ctx, "ledger-sync"), p, LedgerSyncProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(syncTimeout))
	if err := wire.WriteFrame(s, data); err != nil {
		s.Reset()
		return err
	}
	if err := s.CloseWrite(); err != nil {
		return err
	}
	return receiveFrames(ctx, n, bufio.NewReader(s), p, maxAttestationBytes, "ledger sync", replication.DecodeAttestation, n.receiveAttestation)
}

// receiveFrames decodes frames of at most limit bytes from r until the
// stream ends cleanly, handing each to receive; what names the exchange in
// errors and logs. A frame that does not decode ends the exchange.
func receiveFrames[T any](ctx context.Context, n *Node, r *bufio.Reader, from peer.ID, limit int, what string,
	decode func([]byte) (T, error), receive func(context.Context, T, peer.ID)) error {
	var got int
	for {
		frame, err := wire.ReadFrame(r, limit)
		if errors.Is(err, io.EOF) {
			n.logger.Debug(what+" done", "peer", from, "received", got)
			return nil
		}
		if err != nil {
			return err
		}
		v, err := decode(frame)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		receive(ctx, v, from)
		got++
	}
}

// handleSyncStream answers a peer's summary with what it lacks.
func (n *Node) handleSyncStream(_ context.Context, s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(syncTimeout))
	data, err := wire.ReadFrame(bufio.NewReader(s), maxSummaryBytes)
	if err != nil {
		s.Reset()
		return
	}
	sum, err := replication.DecodeSummary(data)
	if err != nil {
		n.rejected.note(n.logger, "ledger summary", s.Conn().RemotePeer().String(), err)
		s.Reset()
		return
	}
	var missing []replication.Attestation
	remote := replication.PeerID(s.Conn().RemotePeer().String())
	n.repl.Read(func(c *replication.Core) { missing = c.Missing(sum, remote) })
	w := bufio.NewWriter(s)
	for _, a := range missing {
		if b, err := a.MarshalBinary(); err == nil {
			if err := wire.WriteFrame(w, b); err != nil {
				s.Reset()
				return
			}
		}
	}
	if err := w.Flush(); err != nil {
		s.Reset()
	}
}
