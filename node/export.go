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
// with that one root: every distinct block once, in walk order, as stored
// (ciphertext for an encrypted object). Blocks missing here are fetched
// from the members first. Memory stays small whatever the object's size:
// blocks are read and written one at a time.
func (n *Node) Export(ctx context.Context, root cid.Cid, w io.Writer) error {
	if n.isDeleted(root.String()) {
		return fmt.Errorf("%w: %s was deleted by its owner or a takedown", ErrDeleted, root)
	}
	if err := n.fetch(ctx, root); err != nil {
		return err
	}
	links, err := n.objectLinks(ctx, root)
	if err != nil {
		return err
	}
	car, err := storage.NewWritable(w, []cid.Cid{root}, carv2.WriteAsCarV1(true))
	if err != nil {
		return fmt.Errorf("export %s: %w", root, err)
	}
	for _, c := range links {
		b, err := n.blocks.Get(ctx, c)
		if err != nil {
			return fmt.Errorf("export %s: read block %s: %w", root, c, err)
		}
		if err := car.Put(ctx, c.KeyString(), b.RawData()); err != nil {
			return fmt.Errorf("export %s: write block %s: %w", root, c, err)
		}
	}
	if err := car.Finalize(); err != nil {
		return fmt.Errorf("export %s: %w", root, err)
	}
	return nil
}
