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

// ChallengeProtocol carries proof-of-storage rounds: the challenger
// writes the encoded Challenge (the copies of one peer pair it covers)
// and closes its side; the holder answers with the encoded Response, one
// answer per item, and closes. A holder that is rate-limited or does not
// accept the challenger resets the stream instead.
const ChallengeProtocol = protocol.ID(ProtocolPrefix + "/challenge/2.0.0")

const (
	// A challenge of MaxChallengeItems CIDs with their leaves, and its
	// answer of a digest each, with room to spare.
	maxChallengeBytes = 256 << 10
	maxResponseBytes  = 40 * replication.MaxChallengeItems
)

// sendChallenge runs one round with a holder and reports the outcome. A
// stream that fails leaves the round pending: the core turns it into
// timeouts at its deadline.
func (n *Node) sendChallenge(ctx context.Context, ch replication.Challenge) {
	expected := make([][32]byte, len(ch.Items))
	for i, it := range ch.Items {
		d, err := n.itemDigest(ctx, ch.Nonce, it)
		if err != nil && ctx.Err() != nil {
			n.repl.Do(func(c *replication.Core) { c.CancelChallenge(ch.ID) }) // stopping
			return
		}
		if err != nil {
			// This node's own copy is unreadable: the item is not judged
			// (a zero digest). The copy's loss is found when this node is
			// challenged for it.
			n.logger.Warn("cannot check a challenge against this node's copy", "cid", it.Object, "err", err)
			continue
		}
		expected[i] = d
	}
	answer, err := n.exchangeChallenge(ctx, ch)
	if err != nil {
		n.logger.Debug("challenge not answered", "peer", ch.Holder, "items", len(ch.Items), "err", err)
		return
	}
	resp, err := replication.DecodeResponse(answer)
	if err != nil || resp.ID != ch.ID {
		n.rejected.note(n.logger, "challenge answer", string(ch.Holder), err)
		resp = replication.Response{ID: ch.ID} // no answers: every item fails
	}
	var results []replication.Result
	n.repl.Do(func(c *replication.Core) { results, err = c.ChallengeResponse(ch.Holder, resp, expected, time.Now()) })
	for i, r := range results {
		if r != replication.ResultPass && r != replication.ResultNone {
			n.logger.Info("holder failed a challenge", "cid", ch.Items[i].Object, "peer", ch.Holder, "result", r)
		}
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

// handleChallengeStream answers a round from another holder.
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
	out, err := resp.MarshalBinary()
	if err != nil {
		s.Reset()
		return
	}
	if _, err := s.Write(out); err != nil {
		s.Reset()
	}
}

// answerChallenge decides the answer to an encoded round: an error means
// answer nothing. An item whose blocks this node cannot read is answered
// "refused", and the copy is dropped here.
func (n *Node) answerChallenge(ctx context.Context, from peer.ID, data []byte) (replication.Response, error) {
	ch, err := replication.DecodeChallenge(data)
	if err != nil {
		return replication.Response{}, err
	}
	var refuse []bool
	n.repl.Do(func(c *replication.Core) {
		refuse, err = c.HandleChallenge(replication.PeerID(from.String()), ch, time.Now())
	})
	if err != nil {
		return replication.Response{}, err
	}
	resp := replication.Response{ID: ch.ID, Answers: make([]replication.Answer, len(ch.Items))}
	for i, it := range ch.Items {
		if refuse[i] {
			resp.Answers[i].Refused = true
			continue
		}
		d, err := n.itemDigest(ctx, ch.Nonce, it)
		if err != nil && ctx.Err() != nil {
			return replication.Response{}, ctx.Err()
		}
		if err != nil {
			n.logger.Warn("challenged for an object whose blocks are missing or corrupt here; dropping the copy", "cid", it.Object, "err", err)
			n.lostCopy(ctx, it.Object)
			resp.Answers[i].Refused = true
			continue
		}
		resp.Answers[i].Digest = d
	}
	return resp, nil
}

// itemDigest computes Digest(nonce, blocks) over this node's copy of one
// item's blocks. The core checked the leaves against its copy's block
// count.
func (n *Node) itemDigest(ctx context.Context, nonce [32]byte, it replication.Item) ([32]byte, error) {
	root, err := cid.Decode(string(it.Object))
	if err != nil {
		return [32]byte{}, fmt.Errorf("object id %q: %w", it.Object, err)
	}
	links, err := n.objectLinks(ctx, root)
	if err != nil {
		return [32]byte{}, err
	}
	blocks := make([][]byte, 0, len(it.Leaves))
	for _, i := range it.Leaves {
		if i >= len(links) {
			return [32]byte{}, fmt.Errorf("leaf %d of %d of %s: past the end of the object", i, len(links), root)
		}
		b, err := n.disk.blocks.Get(ctx, links[i])
		if err != nil {
			return [32]byte{}, fmt.Errorf("read block %d of %s: %w", i, root, err)
		}
		blocks = append(blocks, b.RawData())
	}
	return replication.Digest(nonce, blocks), nil
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
