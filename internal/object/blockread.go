package object

import (
	"context"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// BlockGetter fetches blocks by CID. Every block it returns is hashed and
// checked against the CID it was asked for, unless the getter says it
// checks them itself (CheckingGetter).
type BlockGetter interface {
	Get(ctx context.Context, c cid.Cid) (blocks.Block, error)
}

// CheckingGetter is a BlockGetter that itself checks every block it
// returns against the CID asked for: a store that hashes what it reads, an
// exchange that hashes what it receives. getBlock does not hash a block
// from it a second time (on a restore that was a third of the CPU).
type CheckingGetter interface {
	BlockGetter
	// ChecksBlocks does nothing; having it is the promise.
	ChecksBlocks()
}

// getBlock fetches c and verifies that the data hashes to c, unless g
// already did.
func getBlock(ctx context.Context, g BlockGetter, c cid.Cid) ([]byte, error) {
	prefix := c.Prefix()
	if prefix != leafPrefix && prefix != rootPrefix {
		return nil, fmt.Errorf("%w: unexpected cid type %s", ErrCorruptBlock, c)
	}
	b, err := g.Get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("get block %s: %w", c, err)
	}
	if _, checked := g.(CheckingGetter); checked && b.Cid().Equals(c) {
		return b.RawData(), nil
	}
	if !sumCID(prefix.Codec, b.RawData()).Equals(c) {
		return nil, fmt.Errorf("%w: block %s does not match its cid", ErrCorruptBlock, c)
	}
	return b.RawData(), nil
}

// getNode fetches and decodes a dag-pb node.
func getNode(ctx context.Context, g BlockGetter, c cid.Cid) (pbNode, error) {
	if c.Prefix() != rootPrefix {
		return pbNode{}, fmt.Errorf("%w: %s is not a dag-pb node", ErrCorruptBlock, c)
	}
	data, err := getBlock(ctx, g, c)
	if err != nil {
		return pbNode{}, err
	}
	n, err := decodePBNode(data)
	if err != nil {
		return pbNode{}, fmt.Errorf("%w: node %s: %w", ErrCorruptBlock, c, err)
	}
	return n, nil
}

// getRoot fetches an object's root node and decodes its header.
func getRoot(ctx context.Context, g BlockGetter, root cid.Cid) (pbNode, Header, error) {
	if root.Prefix() != rootPrefix {
		return pbNode{}, Header{}, fmt.Errorf("%w: %s is not a dag-pb sha2-256 cidv1", ErrNotCairnObject, root)
	}
	data, err := getBlock(ctx, g, root)
	if err != nil {
		return pbNode{}, Header{}, err
	}
	n, h, err := parseRoot(data)
	if err != nil {
		return pbNode{}, Header{}, fmt.Errorf("root %s: %w", root, err)
	}
	return n, h, nil
}

// Stat reads an object's plaintext header; it needs no key.
func Stat(ctx context.Context, root cid.Cid, g BlockGetter) (Header, error) {
	_, h, err := getRoot(ctx, g, root)
	return h, err
}

// maxDepth bounds tree depth when walking; 1024^6 leaves is beyond any
// object this format can describe.
const maxDepth = 6

// Walk calls fn for every block CID of the object at root, root first,
// in depth-first order, repeats included. It needs no key: storage peers
// use it to pin, verify and count an object's blocks. Internal nodes are
// fetched (and verified); leaves are only listed.
//
// For a DAG object the walk goes on into the DAG (walkDAG).
func Walk(ctx context.Context, root cid.Cid, g BlockGetter, fn func(cid.Cid) error) error {
	n, h, err := getRoot(ctx, g, root)
	if err != nil {
		return err
	}
	if err := fn(root); err != nil {
		return err
	}
	if h.DAG {
		return walkDAG(ctx, g, n.links[0].cid, fn)
	}
	return walkLinks(ctx, g, n, 0, fn)
}

func walkLinks(ctx context.Context, g BlockGetter, n pbNode, depth int, fn func(cid.Cid) error) error {
	for _, l := range n.links {
		if err := fn(l.cid); err != nil {
			return err
		}
		if l.cid.Prefix() == leafPrefix {
			continue
		}
		if depth == maxDepth {
			return fmt.Errorf("%w: tree deeper than %d", ErrCorruptBlock, maxDepth)
		}
		child, err := getNode(ctx, g, l.cid)
		if err != nil {
			return err
		}
		if err := walkLinks(ctx, g, child, depth+1, fn); err != nil {
			return err
		}
	}
	return nil
}

// Links returns every distinct block CID of the object at root, in Walk
// order. It needs no key.
func Links(ctx context.Context, root cid.Cid, g BlockGetter) ([]cid.Cid, error) {
	seen := map[cid.Cid]bool{}
	var out []cid.Cid
	err := Walk(ctx, root, g, func(c cid.Cid) error {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
		return nil
	})
	return out, err
}
