package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// A drill's read takes each block from whichever holder sends it first, so
// it vouches for the object, not for every copy: one holder whose blocks
// were altered or lost hides behind the others. So a drill also asks each
// holder whose copy counted when it began to prove it, over every block of
// the object (drillProofBlocks at most, drawn at random beyond that), in
// challenges of at most replication.MaxItemLeaves blocks with fresh
// nonces, and checks the answers against this node's own copy. The
// holders answer at once, each in its own goroutine.

// drillProofBlocks bounds the blocks one holder's proof covers: four
// challenges, which cost the holder's allowance for this node (that its
// routine rounds draw on too) 64 items.
const drillProofBlocks = 4 * replication.MaxItemLeaves

// drillProofTimeout bounds the wait for one challenge of a proof.
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

// proveCopies records in out how each of holders proved its copy of root,
// and returns an error naming the first whose copy failed.
func (n *Node) proveCopies(ctx context.Context, root cid.Cid, holders []netstat.HolderView, out *DrillObject) error {
	proofs, err := n.proveHolders(ctx, root, holders)
	if err != nil {
		n.logger.Warn("restore drill: the holders' copies were not proved", "cid", root, "err", err)
	}
	out.Holders = proofs
	for _, p := range proofs {
		if p.Failed {
			return fmt.Errorf("the copy on %s (%s) fails: %s", p.Operator, p.PeerID, p.Result)
		}
	}
	return nil
}

// proveHolders asks each of holders to prove it keeps root's blocks, all
// at once; a proof not asked for says so.
func (n *Node) proveHolders(ctx context.Context, root cid.Cid, holders []netstat.HolderView) ([]HolderProof, error) {
	links, err := n.objectLinks(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("this node's copy, to check the holders against: %w", err)
	}
	leaves := proofLeaves(len(links))
	out := make([]HolderProof, len(holders))
	var wg sync.WaitGroup
	for i, h := range holders {
		out[i] = HolderProof{PeerID: h.PeerID, Operator: h.Operator, Blocks: len(leaves)}
		wg.Go(func() {
			out[i].Result, out[i].Failed = n.proveHolder(ctx, root, replication.PeerID(h.PeerID), leaves)
		})
	}
	wg.Wait()
	return out, ctx.Err()
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

// proveHolder runs one holder's proof, a challenge per
// replication.MaxItemLeaves blocks, and says how it went, and whether
// that shows its copy is not intact.
func (n *Node) proveHolder(ctx context.Context, root cid.Cid, holder replication.PeerID, leaves []int) (result string, failed bool) {
	obj := replication.ObjectID(root.String())
	for part := range slices.Chunk(leaves, replication.MaxItemLeaves) {
		result, failed = n.proveItem(ctx, holder, replication.Item{Object: obj, Leaves: part})
		if failed && n.released(ctx, root, holder) {
			return "no proof: it released its copy since the drill began (the object has more copies than it needs)", false
		}
		if result != proofOK {
			return result, failed
		}
	}
	return proofOK, false
}

// proofOK is the result of a proof that passed.
const proofOK = "ok"

// released reports whether holder's copy of root stopped counting because
// it released it, as holders of copies beyond the target do.
func (n *Node) released(ctx context.Context, root cid.Cid, holder replication.PeerID) bool {
	v, err := n.Status(ctx, root.String())
	if err != nil {
		return false
	}
	for _, h := range v.Holders {
		if h.PeerID == string(holder) {
			return h.State == "released"
		}
	}
	return false
}

// proveItem runs one challenge of a proof.
func (n *Node) proveItem(ctx context.Context, holder replication.PeerID, item replication.Item) (result string, failed bool) {
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
	return proofOK, false
}
