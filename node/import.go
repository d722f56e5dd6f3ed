package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/internal/object"
)

// ErrBadBundle means a CAR bundle cannot be imported: it does not parse,
// has other than one root, holds a block that does not match its CID, or
// lacks a block of its DAG. Nothing of it is kept.
var ErrBadBundle = errors.New("node: bad CAR bundle")

// ErrBadOption means options of a request do not go together.
var ErrBadOption = errors.New("node: options do not go together")

// ImportOptions are the choices of `cairn import`.
type ImportOptions struct {
	Name     string // shown in listings to the owner only
	Replicas int    // 0: the configured default
}

// ImportResult is what an import reports once the object is durable.
type ImportResult struct {
	AddResult
	DAG    string `json:"dag"`    // the bundle's root: the CID IPFS tools know it by
	Blocks int    `json:"blocks"` // blocks read from the bundle
	New    int    `json:"new"`    // of which this node had none before
}

// Import reads a CAR bundle (v1 or v2) with exactly one root, verifies
// every block against its CID, and, once the whole DAG under the root is
// here and durable, makes it a DAG object of this node's owner: recorded,
// listed, carried in the catalog and replicated like an add. The bundle is
// read as a stream: memory stays at a few blocks whatever its size. A
// bundle that fails leaves nothing behind: blocks it brought are removed.
func (n *Node) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error) {
	if n.recovering.Load() {
		return ImportResult{}, fmt.Errorf("import: %w; import again when it is done", ErrRecovering)
	}
	replicas := opts.Replicas
	if replicas == 0 {
		replicas = n.cfg.Add.Replicas
	}
	dag, got, err := n.readBundle(ctx, r)
	if err != nil {
		return ImportResult{}, err
	}
	res, err := n.ownDAG(ctx, dag, opts.Name, replicas)
	if err != nil {
		n.dropFresh(got.fresh)
		return ImportResult{}, err
	}
	return ImportResult{AddResult: res, DAG: dag.String(), Blocks: got.blocks, New: len(got.fresh)}, nil
}

// bundleBlocks is what reading a bundle stored.
type bundleBlocks struct {
	blocks int
	fresh  []cid.Cid // blocks this node did not have before
}

// readBundle stores every block of the CAR in r, verified, and returns its
// one root. On error, the blocks it stored are removed again.
func (n *Node) readBundle(ctx context.Context, r io.Reader) (cid.Cid, bundleBlocks, error) {
	var got bundleBlocks
	// Blocks are verified below, with object's rules and messages.
	car, err := carv2.NewBlockReader(r, carv2.MaxAllowedSectionSize(object.MaxDAGBlockSize+256), carv2.WithTrustedCAR(true))
	if err != nil {
		return cid.Undef, got, fmt.Errorf("%w: read the header: %v", ErrBadBundle, err)
	}
	if len(car.Roots) != 1 {
		return cid.Undef, got, fmt.Errorf("%w: it names %d roots; Cairn imports a bundle with exactly one (export each DAG on its own)", ErrBadBundle, len(car.Roots))
	}
	root := car.Roots[0]
	if err := object.CheckDAGCID(root); err != nil {
		return cid.Undef, got, fmt.Errorf("%w: its root: %w", ErrBadBundle, err)
	}
	batch := n.blocks.NewBatch()
	fail := func(err error) (cid.Cid, bundleBlocks, error) {
		batch.Discard()
		n.dropFresh(got.fresh)
		return cid.Undef, bundleBlocks{}, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		b, err := car.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(fmt.Errorf("%w: block %d: %v", ErrBadBundle, got.blocks+1, err))
		}
		got.blocks++
		c := b.Cid()
		if c.Prefix().MhType == multihash.IDENTITY {
			continue // its data is in its CID
		}
		if err := object.VerifyDAGBlock(c, b.RawData()); err != nil {
			return fail(fmt.Errorf("%w: block %d: %w", ErrBadBundle, got.blocks, err))
		}
		have, err := n.blocks.Has(ctx, c)
		if err != nil {
			return fail(fmt.Errorf("import: %w", err))
		}
		if have {
			continue
		}
		if err := batch.Put(ctx, b); err != nil {
			return fail(fmt.Errorf("import: store block %s: %w", c, err))
		}
		got.fresh = append(got.fresh, c)
	}
	if err := batch.Commit(ctx); err != nil {
		return fail(fmt.Errorf("import: make blocks durable: %w", err))
	}
	return root, got, nil
}

// ownDAG makes the DAG under dag, all of it stored here, an object of
// this node's owner: wrapped, recorded and tracked for replication.
func (n *Node) ownDAG(ctx context.Context, dag cid.Cid, name string, replicas int) (AddResult, error) {
	if rec, err := n.index.get(ctx, dag.String()); err == nil && rec.Role == RoleOwner {
		// The owner's own object, exported and brought back: already here.
		return AddResult{CID: rec.ID, Encrypted: rec.Encrypted, Size: rec.Size, Replicas: rec.Replicas}, nil
	}
	var size uint64
	var blocks int
	err := object.WalkDAG(ctx, dag, n.blocks, func(c cid.Cid) error {
		s, err := n.blocks.GetSize(ctx, c)
		if err != nil {
			return fmt.Errorf("%w: it lacks block %s of its DAG: %v", ErrBadBundle, c, err)
		}
		size += uint64(s)
		blocks++
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrBadBundle) && (errors.Is(err, object.ErrCorruptBlock) || errors.Is(err, object.ErrUnsupportedDAG)) {
			err = fmt.Errorf("%w: %w", ErrBadBundle, err)
		}
		return AddResult{}, fmt.Errorf("import %s: %w", dag, err)
	}
	root, _, err := object.WrapDAG(n.ownerKeys().ObjectSecret(), dag, "", size)
	if err != nil {
		return AddResult{}, fmt.Errorf("import %s: %w", dag, err)
	}
	if n.isDeleted(root.Cid().String()) {
		return AddResult{}, fmt.Errorf("%w: this DAG was imported before as %s and deleted; run `cairn undelete %s` to restore it", ErrDeleted, root.Cid(), root.Cid())
	}
	if err := n.blocks.Put(ctx, root); err != nil {
		return AddResult{}, fmt.Errorf("import %s: store its root: %w", dag, err)
	}
	// An encrypted Cairn object wrapped as a DAG stays unreadable to
	// storage peers; anything else is public.
	encrypted := false
	if h, err := object.Stat(ctx, dag, n.blocks); err == nil {
		encrypted = h.Encrypted
	}
	capability := object.PublicCapability(root.Cid())
	res := object.Result{
		Root: root.Cid(), Capability: capability, Encrypted: encrypted,
		Size: int64(size), StoredBytes: int64(size) + int64(len(root.RawData())),
	}
	if err := n.recordOwned(ctx, res, dag, name, replicas); err != nil {
		return AddResult{}, err
	}
	n.catalogChanged()
	if err := n.trackAdded(ctx, root.Cid(), replicas); err != nil {
		n.logger.Warn("replication does not track the imported object", "cid", root.Cid(), "err", err)
	}
	return AddResult{
		CID: root.Cid().String(), Capability: capability.String(), Name: name,
		Size: int64(size), Chunks: blocks, Encrypted: encrypted, Replicas: replicas,
		IPFS: dag.String(),
	}, nil
}

// dropFresh removes blocks an import stored that no object uses.
func (n *Node) dropFresh(fresh []cid.Cid) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range fresh {
		if err := n.blocks.DeleteBlock(ctx, c); err != nil {
			n.logger.Warn("remove a block of a failed import", "cid", c, "err", err)
		}
	}
}
