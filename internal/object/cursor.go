package object

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"
)

// treeCursor finds leaf i of a tree written by treeBuilder. The shape is
// fully determined by the leaf count: height ceil(log1024(count)), every
// node full except the last at each depth. Nodes on the last path are
// cached, so reading leaves in order fetches each node once.
type treeCursor struct {
	g      BlockGetter
	top    cid.Cid
	count  uint64
	height int
	cache  []cachedNode // by depth
}

type cachedNode struct {
	index uint64 // position of the node among the nodes at its depth
	node  pbNode
	ok    bool
}

func newTreeCursor(g BlockGetter, top cid.Cid, count uint64) *treeCursor {
	height := 0
	for span := uint64(1); span < count; span *= maxLinks {
		height++
	}
	return &treeCursor{g: g, top: top, count: count, height: height, cache: make([]cachedNode, height)}
}

// span returns how many leaves a node at depth d covers.
func (t *treeCursor) span(d int) uint64 {
	s := uint64(1)
	for range t.height - d {
		s *= maxLinks
	}
	return s
}

// leaf returns the CID of leaf i.
func (t *treeCursor) leaf(ctx context.Context, i uint64) (cid.Cid, error) {
	if i >= t.count {
		return cid.Undef, fmt.Errorf("%w: leaf %d of %d", ErrCorruptBlock, i, t.count)
	}
	c := t.top
	for d := range t.height {
		n, err := t.node(ctx, d, i/t.span(d), c)
		if err != nil {
			return cid.Undef, err
		}
		c = n.links[(i/t.span(d+1))%maxLinks].cid
	}
	if c.Prefix() != leafPrefix {
		return cid.Undef, fmt.Errorf("%w: leaf %d is %s, not a raw block", ErrCorruptBlock, i, c)
	}
	return c, nil
}

// node returns the node at depth d and position index, whose CID is c,
// checking it has exactly the number of links the leaf count implies.
func (t *treeCursor) node(ctx context.Context, d int, index uint64, c cid.Cid) (pbNode, error) {
	if cached := t.cache[d]; cached.ok && cached.index == index {
		return cached.node, nil
	}
	n, err := getNode(ctx, t.g, c)
	if err != nil {
		return pbNode{}, err
	}
	below := t.count - index*t.span(d) // leaves from this node's first on
	want := min(uint64(maxLinks), (below+t.span(d+1)-1)/t.span(d+1))
	if uint64(len(n.links)) != want || len(n.data) != 0 {
		return pbNode{}, fmt.Errorf("%w: node %s has %d links, want %d", ErrCorruptBlock, c, len(n.links), want)
	}
	t.cache[d] = cachedNode{index: index, node: n, ok: true}
	return n, nil
}
