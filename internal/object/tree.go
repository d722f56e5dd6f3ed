package object

import (
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// treeBuilder builds a dag-pb tree over a stream of leaves with at most
// maxLinks links per node. Every node except the last one at each depth
// is full and all leaves are at the same depth, so a reader finds leaf i
// by arithmetic. A tree of one leaf is that leaf. Memory is at most
// maxLinks links per level.
type treeBuilder struct {
	put    func(blocks.Block) error
	levels [][]link // levels[0] holds leaf links not yet in a node
	nodes  int      // internal nodes emitted
	bytes  uint64   // bytes of internal nodes emitted
}

func newTreeBuilder(put func(blocks.Block) error) *treeBuilder {
	return &treeBuilder{put: put}
}

// add appends a leaf.
func (t *treeBuilder) add(leaf link) error {
	return t.addAt(0, leaf)
}

func (t *treeBuilder) addAt(level int, l link) error {
	if level == len(t.levels) {
		t.levels = append(t.levels, make([]link, 0, maxLinks))
	}
	t.levels[level] = append(t.levels[level], l)
	if len(t.levels[level]) < maxLinks {
		return nil
	}
	parent, err := t.emit(t.levels[level])
	if err != nil {
		return err
	}
	t.levels[level] = t.levels[level][:0]
	return t.addAt(level+1, parent)
}

// emit stores a node linking children and returns a link to it.
func (t *treeBuilder) emit(children []link) (link, error) {
	n := pbNode{links: children}
	b := newBlock(cid.DagProtobuf, n.encode())
	if err := t.put(b); err != nil {
		return link{}, err
	}
	t.nodes++
	t.bytes += uint64(len(b.RawData()))
	return link{cid: b.Cid(), size: subtreeSize(children) + uint64(len(b.RawData()))}, nil
}

func subtreeSize(links []link) uint64 {
	var total uint64
	for _, l := range links {
		total += l.size
	}
	return total
}

// finish closes the partial nodes and returns the tree's top link, or
// ok false when no leaf was added.
func (t *treeBuilder) finish() (top link, ok bool, err error) {
	for level := 0; level < len(t.levels); level++ {
		items := t.levels[level]
		if level == len(t.levels)-1 && len(items) == 1 {
			return items[0], true, nil
		}
		if len(items) == 0 {
			continue
		}
		parent, err := t.emit(items)
		if err != nil {
			return link{}, false, err
		}
		t.levels[level] = items[:0]
		if level+1 == len(t.levels) {
			t.levels = append(t.levels, nil)
		}
		t.levels[level+1] = append(t.levels[level+1], parent)
	}
	return link{}, false, nil
}
