package node

import (
	"context"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"

	"github.com/cairn-fed/cairn/internal/object"
)

// ExportRoot names the object a `cairn export` asks for: an object ID, or
// a capability (of which only the object ID is used: a bundle holds
// ciphertext, safe to hand to anyone).
func ExportRoot(arg string) (cid.Cid, error) {
	if c, err := object.ParseCapability(arg); err == nil {
		return c.Root(), nil
	}
	root, err := cid.Decode(arg)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %q is neither an object ID nor a capability", ErrInvalidCID, arg)
	}
	return root, nil
}

// Export writes the whole DAG of the object at root to w as a CARv1 bundle
// with one root: every distinct block once, in walk order, as stored
// (ciphertext for an encrypted object). A DAG object (a public add, an
// import) is written as the IPFS DAG it holds, rooted at that DAG's CID,
// so `ipfs dag import` pins what `ipfs cat` reads; root may also be that
// DAG's CID. Blocks missing here are fetched from the members first.
// Memory stays small whatever the object's size: blocks are read and
// written one at a time.
func (n *Node) Export(ctx context.Context, root cid.Cid, w io.Writer) error {
	defer n.writingBlocks()() // until its blocks are counted (blockgate.go)
	obj, err := n.exportedObject(ctx, root)
	if err != nil {
		return err
	}
	if n.isDeleted(obj.String()) {
		return fmt.Errorf("%w: %s was deleted by its owner or a takedown", ErrDeleted, obj)
	}
	if err := n.fetch(ctx, obj); err != nil {
		return err
	}
	dag, _, isDAG, err := object.DAGRoot(ctx, obj, n.disk.blocks)
	if err != nil {
		return fmt.Errorf("export %s: %w", obj, err)
	}
	if !isDAG {
		links, err := n.objectLinks(ctx, obj)
		if err != nil {
			return err
		}
		return writeCAR(ctx, w, obj, n.disk.blocks, func(fn func(cid.Cid) error) error {
			for _, c := range links {
				if err := fn(c); err != nil {
					return err
				}
			}
			return nil
		})
	}
	seen := map[cid.Cid]bool{}
	return writeCAR(ctx, w, dag, n.disk.blocks, func(fn func(cid.Cid) error) error {
		return object.WalkDAG(ctx, dag, n.disk.blocks, func(c cid.Cid) error {
			if seen[c] {
				return nil
			}
			seen[c] = true
			return fn(c)
		})
	})
}

// exportedObject returns the object an export names: root itself, or the
// DAG object here that holds the DAG root (an IPFS CID given for a public
// object or an import).
func (n *Node) exportedObject(ctx context.Context, root cid.Cid) (cid.Cid, error) {
	if _, err := n.disk.index.get(ctx, root.String()); err == nil {
		return root, nil
	}
	recs, err := n.disk.index.list(ctx)
	if err != nil {
		return cid.Undef, fmt.Errorf("export %s: %w", root, err)
	}
	for _, r := range recs {
		if r.DAG == root.String() && !n.isDeleted(r.ID) {
			return cid.Decode(r.ID)
		}
	}
	return root, nil
}

// writeCAR writes a CARv1 with the one root root and the blocks walk
// lists, read from store.
func writeCAR(ctx context.Context, w io.Writer, root cid.Cid, store object.BlockGetter, walk func(func(cid.Cid) error) error) error {
	car, err := storage.NewWritable(w, []cid.Cid{root}, carv2.WriteAsCarV1(true))
	if err != nil {
		return fmt.Errorf("export %s: %w", root, err)
	}
	err = walk(func(c cid.Cid) error {
		b, err := store.Get(ctx, c)
		if err != nil {
			return fmt.Errorf("read block %s: %w", c, err)
		}
		if err := car.Put(ctx, c.KeyString(), b.RawData()); err != nil {
			return fmt.Errorf("write block %s: %w", c, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export %s: %w", root, err)
	}
	if err := car.Finalize(); err != nil {
		return fmt.Errorf("export %s: %w", root, err)
	}
	return nil
}
