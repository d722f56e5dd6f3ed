package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-fed/cairn/internal/wire"
	"github.com/cairn-fed/cairn/tombstone"
)

// Tombstones and acknowledgements travel like attestations: gossip on a
// federation topic for the peers online now, and a pull-based anti-entropy
// exchange with every member on connection for those that were away.

// TombstoneSyncProtocol is the tombstone anti-entropy stream protocol.
// The initiator sends its digest; the responder answers with its own; the
// initiator sends a listing of the buckets that differ; the responder
// sends the tombstones the initiator lacks, then every acknowledgement it
// knows for deleted objects, and closes.
const TombstoneSyncProtocol = protocol.ID(ProtocolPrefix + "/tombstone-sync/1.0.0")

const (
	maxDigestBytes   = 4 << 10
	maxListingBytes  = 16 << 20
	maxDeletionBytes = 4 << 10 // one tombstone or acknowledgement
)

// deletionTopic joins the federation's tombstone topic once.
func (n *Node) deletionTopic(federationID string) (*pubsub.Topic, error) {
	return n.net.tombstones.joinOnce(func() (*pubsub.Topic, error) {
		return joinDecodedTopic(n, "/cairn/"+federationID+"/tombstones", "tombstone",
			decodeDeletionMessage, n.verifyGossipedDeletion, n.receiveDeletion)
	})
}

// deletionMessage is a decoded tombstone or acknowledgement.
type deletionMessage struct {
	tomb *tombstone.Tombstone
	ack  *tombstone.Ack
}

func decodeDeletionMessage(b []byte) (deletionMessage, error) {
	t, a, err := tombstone.DecodeMessage(b)
	return deletionMessage{tomb: t, ack: a}, err
}

// verifyGossipedDeletion checks a gossiped tombstone or acknowledgement
// before gossip forwards it: a tombstone against its object's owner key
// (owner lane) or the federation authority's key (takedowns), an
// acknowledgement against the roster key of the member it names as
// holder. Anything that fails is rejected and goes no further.
//
// An owner tombstone for an object whose owner key this node does not
// know yet cannot be checked here. It is ignored: not forwarded (this node
// cannot vouch for it, and members that know the owner got it from the
// publisher or get it by anti-entropy) and not delivered. It is kept, in
// memory only and bounded, with the tombstones awaiting their object's
// attestations; Set.Apply verifies it when the owner key becomes known,
// before anything is stored.
func (n *Node) verifyGossipedDeletion(m deletionMessage, from peer.ID) (pubsub.ValidationResult, error) {
	keys, now := nodeKeys{n}, time.Now()
	var err error
	switch {
	case m.tomb != nil:
		err = tombstone.Verify(*m.tomb, keys.ObjectOwner(m.tomb.Object), keys.Authority(), now, n.del.MaxSkew())
		if errors.Is(err, tombstone.ErrUnknownObject) {
			n.del.AwaitOwner(*m.tomb, from.String())
			return pubsub.ValidationIgnore, err
		}
	case m.ack != nil:
		err = tombstone.VerifyAck(*m.ack, keys.HolderKey(m.ack.Holder), now, n.del.MaxSkew())
	default:
		err = tombstone.ErrMalformed
	}
	if err != nil {
		return pubsub.ValidationReject, fmt.Errorf("gossiped deletion message: %w", err)
	}
	return pubsub.ValidationAccept, nil
}

// receiveDeletion applies a tombstone or acknowledgement from a peer.
// Tombstones for objects not yet known wait for their attestations;
// acknowledgements that arrive before their tombstone are dropped, since
// anti-entropy sends every acknowledgement again.
func (n *Node) receiveDeletion(ctx context.Context, m deletionMessage, from peer.ID) {
	var err error
	switch {
	case m.tomb != nil:
		_, err = n.applyTombstone(ctx, *m.tomb, from.String())
		if errors.Is(err, tombstone.ErrUnknownObject) {
			return
		}
	case m.ack != nil:
		_, err = n.applyAck(ctx, *m.ack)
		if errors.Is(err, tombstone.ErrUnknownObject) {
			return
		}
	}
	switch {
	case errors.Is(err, ErrNotDurable):
		// Applied, logged where the write failed: this node's fault, not the peer's.
	case err != nil:
		n.rejected.note(n.logger, "tombstone", from.String(), err)
	}
}

// publishDeletion gossips a tombstone or acknowledgement to the federation.
func (n *Node) publishDeletion(ctx context.Context, m interface{ MarshalBinary() ([]byte, error) }) {
	data, err := m.MarshalBinary()
	if err != nil {
		return
	}
	topic := n.net.tombstones.joined()
	if topic == nil {
		return // no federation: nobody to tell
	}
	if err := topic.Publish(ctx, data); err != nil && ctx.Err() == nil {
		n.logger.Warn("gossip deletion", "err", err)
	}
}

// syncTombstones pulls from p the tombstones and acknowledgements this
// node lacks.
func (n *Node) syncTombstones(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	ours := n.del.Digest()
	s, err := n.net.host.NewStream(network.WithAllowLimitedConn(ctx, "tombstone-sync"), p, TombstoneSyncProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(syncTimeout))
	r := bufio.NewReader(s)
	if err := writeMarshaled(s, ours); err != nil {
		s.Reset()
		return err
	}
	frame, err := wire.ReadFrame(r, maxDigestBytes)
	if err != nil {
		return fmt.Errorf("read peer's tombstone digest: %w", err)
	}
	theirs, err := tombstone.DecodeDigest(frame)
	if err != nil {
		return fmt.Errorf("peer's tombstone digest: %w", err)
	}
	listing := n.del.Listing(ours.Differs(theirs))
	if err := writeMarshaled(s, listing); err != nil {
		s.Reset()
		return err
	}
	if err := s.CloseWrite(); err != nil {
		return err
	}
	return receiveFrames(ctx, n, r, p, maxDeletionBytes, "tombstone sync", decodeDeletionMessage, n.receiveDeletion)
}

// handleTombstoneSync answers a peer's pull.
func (n *Node) handleTombstoneSync(_ context.Context, s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(syncTimeout))
	from := s.Conn().RemotePeer()
	r := bufio.NewReader(s)
	frame, err := wire.ReadFrame(r, maxDigestBytes)
	if err == nil {
		_, err = tombstone.DecodeDigest(frame)
	}
	if err != nil {
		n.rejected.note(n.logger, "tombstone sync", from.String(), err)
		s.Reset()
		return
	}
	ours := n.del.Digest()
	if err := writeMarshaled(s, ours); err != nil {
		s.Reset()
		return
	}
	frame, err = wire.ReadFrame(r, maxListingBytes)
	var listing tombstone.Listing
	if err == nil {
		listing, err = tombstone.DecodeListing(frame)
	}
	if err != nil {
		n.rejected.note(n.logger, "tombstone sync", from.String(), err)
		s.Reset()
		return
	}
	missing, acks := n.del.Missing(listing)
	w := bufio.NewWriter(s)
	for _, t := range missing {
		if err := writeMarshaled(w, t); err != nil {
			s.Reset()
			return
		}
	}
	for _, a := range acks {
		if err := writeMarshaled(w, a); err != nil {
			s.Reset()
			return
		}
	}
	if err := w.Flush(); err != nil {
		s.Reset()
	}
}

func writeMarshaled(w io.Writer, m interface{ MarshalBinary() ([]byte, error) }) error {
	data, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	return wire.WriteFrame(w, data)
}
