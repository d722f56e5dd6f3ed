package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// A drill's read takes each block from whichever holder sends it first, so
// it vouches for the object, not for every copy: one holder whose blocks
// were altered or lost hides behind the others. So a drill also asks each
// holder whose copy counts to prove it, over every block of the object
// (drillProofBlocks at most, drawn at random beyond that), with a fresh
// nonce, and checks the answer against this node's own copy.

// drillProofBlocks bounds the blocks one holder's proof covers: a quarter
// of what a challenge may ask, so that the holder's challenge allowance
// (which every challenger's routine rounds draw on too) takes it.
const drillProofBlocks = replication.MaxChallengeItems

// drillProofTimeout bounds the wait for one holder's proof.
const drillProofTimeout = 30 * time.Second

// HolderProof is how one holder's copy fared in a drill.
type HolderProof struct {
	PeerID   string `json:"peer_id"`
	Operator string `json:"operator"`
	Blocks   int    `json:"blocks"` // how many of the object's blocks the proof covered
	// Failed says the copy is damaged or gone, which fails the object's
	// drill; Result says why, or "ok", or why no proof could be had
	// (which says nothing about the copy).
	Failed bool   `json:"failed,omitempty"`
	Result string `json:"result"`
}

// countedHolders lists the other holders whose copy of root counts now.
// A drill takes them before it reads: a damaged holder that notices while
// serving the read drops its copy, and must still be named.
func (n *Node) countedHolders(ctx context.Context, root cid.Cid) ([]netstat.HolderView, error) {
	v, err := n.Status(ctx, root.String())
	if err != nil {
		return nil, fmt.Errorf("the object's holders: %w", err)
	}
	self := n.net.host.ID().String()
	var out []netstat.HolderView
	for _, h := range v.Holders {
		if h.PeerID != self && h.State == "verified" {
			out = append(out, h)
		}
	}
	return out, nil
}

// proveHolders asks each of holders to prove it keeps root's blocks.
func (n *Node) proveHolders(ctx context.Context, root cid.Cid, holders []netstat.HolderView) ([]HolderProof, error) {
	links, err := n.objectLinks(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("this node's copy, to check the holders against: %w", err)
	}
	item := replication.Item{Object: replication.ObjectID(root.String()), Leaves: proofLeaves(len(links))}
	var out []HolderProof
	for _, h := range holders {
		p := HolderProof{PeerID: h.PeerID, Operator: h.Operator, Blocks: len(item.Leaves)}
		p.Result, p.Failed = n.proveHolder(ctx, replication.PeerID(h.PeerID), item)
		out = append(out, p)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

// proofLeaves picks the blocks a proof covers: all of an object's total,
// or drillProofBlocks of them at random.
func proofLeaves(total int) []int {
	leaves := make([]int, total)
	for i := range leaves {
		leaves[i] = i
	}
	if total > drillProofBlocks {
		mrand.Shuffle(total, func(i, j int) { leaves[i], leaves[j] = leaves[j], leaves[i] })
		leaves = leaves[:drillProofBlocks]
		slices.Sort(leaves)
	}
	return leaves
}

// proveHolder runs one proof with one holder and says how it went, and
// whether that shows its copy is not intact.
func (n *Node) proveHolder(ctx context.Context, holder replication.PeerID, item replication.Item) (result string, failed bool) {
	ch := replication.Challenge{Holder: holder, Items: []replication.Item{item}, IssuedAt: time.Now()}
	ch.Deadline = ch.IssuedAt.Add(drillProofTimeout)
	var id [8]byte
	rand.Read(id[:])
	rand.Read(ch.Nonce[:])
	ch.ID = replication.ChallengeID(binary.BigEndian.Uint64(id[:]))
	want, err := n.itemDigest(ctx, ch.Nonce, item)
	if err != nil {
		return "no proof asked: this node's own copy does not read: " + err.Error(), false
	}
	answer, err := n.exchangeChallenge(ctx, ch)
	if err != nil {
		return "no answer: " + err.Error(), false
	}
	resp, err := replication.DecodeResponse(answer)
	if err == nil && (resp.ID != ch.ID || len(resp.Answers) != 1) {
		err = fmt.Errorf("an answer to another proof (%d answers)", len(resp.Answers))
	}
	switch {
	case err != nil:
		n.rejected.note(n.logger, "drill proof", string(holder), err)
		return "its answer is malformed: " + err.Error(), true
	case resp.Answers[0].Refused:
		return "it cannot read its copy (blocks missing or damaged)", true
	case resp.Answers[0].Digest != want:
		return "its proof does not match this node's copy (blocks altered)", true
	}
	return "ok", false
}
