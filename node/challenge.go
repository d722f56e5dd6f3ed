package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/cairn-fed/cairn/replication"
)

// ChallengeProtocol carries proof-of-storage challenges: the challenger
// writes the encoded Challenge and closes its side; the holder answers
// with the encoded Response and closes. A holder that is rate-limited or
// does not accept the challenger resets the stream instead.
const ChallengeProtocol = protocol.ID(ProtocolPrefix + "/challenge/1.0.0")

const (
	maxChallengeBytes = 4 << 10
	maxResponseBytes  = 64
)

// sendChallenge challenges a holder and reports the outcome. A stream
// that fails leaves the challenge pending: the core turns it into a
// timeout at its deadline.
func (n *Node) sendChallenge(ctx context.Context, ch replication.Challenge) {
	expected, err := n.challengeDigest(ctx, ch)
	if err != nil {
		n.logger.Warn("cannot check a challenge against this node's copy", "cid", ch.Object, "err", err)
		n.repl.Do(func(c *replication.Core) { c.CancelChallenge(ch.ID) })
		return
	}
	answer, err := n.exchangeChallenge(ctx, ch)
	if err != nil {
		n.logger.Debug("challenge not answered", "cid", ch.Object, "peer", ch.Holder, "err", err)
		return
	}
	resp, err := replication.DecodeResponse(answer)
	if err != nil || resp.ID != ch.ID {
		n.rejected.note(n.logger, "challenge answer", string(ch.Holder), err, "cid", ch.Object)
		resp = replication.Response{ID: ch.ID} // a zero digest never matches
	}
	var r replication.Result
	n.repl.Do(func(c *replication.Core) { r, err = c.ChallengeResponse(ch.Holder, resp, expected, time.Now()) })
	if err == nil && r != replication.ResultPass {
		n.logger.Info("holder failed a challenge", "cid", ch.Object, "peer", ch.Holder, "result", r)
	}
}

func (n *Node) exchangeChallenge(ctx context.Context, ch replication.Challenge) ([]byte, error) {
	p, err := peer.Decode(string(ch.Holder))
	if err != nil {
		return nil, err
	}
	data, err := ch.MarshalBinary()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithDeadline(ctx, ch.Deadline)
	defer cancel()
	s, err := n.net.host.NewStream(ctx, p, ChallengeProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	s.SetDeadline(ch.Deadline)
	if _, err := s.Write(data); err != nil {
		s.Reset()
		return nil, err
	}
	if err := s.CloseWrite(); err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(io.LimitReader(s, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(answer) == 0 {
		return nil, errors.New("empty answer")
	}
	return answer, nil
}

// handleChallengeStream answers a challenge from another holder.
func (n *Node) handleChallengeStream(ctx context.Context, s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(15 * time.Second))
	from := s.Conn().RemotePeer()
	data, err := io.ReadAll(io.LimitReader(s, maxChallengeBytes+1))
	if err != nil || len(data) > maxChallengeBytes {
		s.Reset()
		return
	}
	resp, err := n.answerChallenge(ctx, from, data)
	if errors.Is(err, replication.ErrRateLimited) {
		n.rejected.noteOverBound(n.logger, "challenge", from.String(), err, time.Now())
	} else if err != nil {
		n.rejected.note(n.logger, "challenge", from.String(), err)
	}
	if err != nil {
		s.Reset()
		return
	}
	out, _ := resp.MarshalBinary()
	if _, err := s.Write(out); err != nil {
		s.Reset()
	}
}

// answerChallenge decides the answer to an encoded challenge: an error
// means answer nothing.
func (n *Node) answerChallenge(ctx context.Context, from peer.ID, data []byte) (replication.Response, error) {
	ch, err := replication.DecodeChallenge(data)
	if err != nil {
		return replication.Response{}, err
	}
	var refuse bool
	n.repl.Do(func(c *replication.Core) {
		refuse, err = c.HandleChallenge(replication.PeerID(from.String()), ch, time.Now())
	})
	if err != nil {
		return replication.Response{}, err
	}
	if refuse {
		return replication.Response{ID: ch.ID, Refused: true}, nil
	}
	digest, err := n.challengeDigest(ctx, ch)
	if errors.Is(err, errLeafOutOfRange) {
		// The core checked the leaves against the block count of this
		// node's copy; a mismatch says nothing about the copy.
		return replication.Response{}, err
	}
	if err != nil {
		n.logger.Warn("challenged for an object whose blocks are missing or corrupt here; dropping the copy", "cid", ch.Object, "err", err)
		n.lostCopy(ctx, ch.Object)
		return replication.Response{ID: ch.ID, Refused: true}, nil
	}
	return replication.Response{ID: ch.ID, Digest: digest}, nil
}

// challengeDigest computes Digest(nonce, blocks) over this node's copy of
// the challenged blocks.
func (n *Node) challengeDigest(ctx context.Context, ch replication.Challenge) ([32]byte, error) {
	root, err := cid.Decode(string(ch.Object))
	if err != nil {
		return [32]byte{}, fmt.Errorf("object id %q: %w", ch.Object, err)
	}
	links, err := n.objectLinks(ctx, root)
	if err != nil {
		return [32]byte{}, err
	}
	blocks := make([][]byte, 0, len(ch.Leaves))
	for _, i := range ch.Leaves {
		if i >= len(links) {
			return [32]byte{}, fmt.Errorf("leaf %d of %d: %w", i, len(links), errLeafOutOfRange)
		}
		b, err := n.disk.blocks.Get(ctx, links[i])
		if err != nil {
			return [32]byte{}, fmt.Errorf("read block %d of %s: %w", i, root, err)
		}
		blocks = append(blocks, b.RawData())
	}
	return replication.Digest(ch.Nonce, blocks), nil
}

// lostCopy records that blocks of a held object are gone: the core
// attests the loss, so repair starts elsewhere (or here, if this node is
// still the best candidate), and the index forgets a holder's copy. The
// owner's own record (its name and capability) is never removed by what
// a peer sends: the object stays listed, and its data can be fetched back.
func (n *Node) lostCopy(ctx context.Context, obj replication.ObjectID) {
	if rec, err := n.disk.index.get(ctx, string(obj)); err == nil && rec.Role == RoleOwner {
		n.logger.Error("blocks of an object this node's owner added are missing or corrupt; its record is kept", "cid", obj)
		n.repl.Do(func(c *replication.Core) { c.Drop(obj, time.Now()) })
		return
	}
	if err := n.disk.index.remove(ctx, string(obj)); err != nil {
		n.logger.Warn("forget lost copy", "cid", obj, "err", err)
	}
	n.repl.Do(func(c *replication.Core) { c.Drop(obj, time.Now()) })
}
