package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/blockstore"
)

// ErrBadBundle means a CAR bundle cannot be imported: it does not parse,
// has other than one root, holds a block that does not match its CID, or
// lacks a block of its DAG. Nothing of it is kept.
var ErrBadBundle = errors.New("node: bad CAR bundle")

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
	// Existing is set when the owner had this object already: it is left
	// as it was (name, target).
	Existing bool `json:"existing,omitempty"`
}

// Import reads a CAR bundle (v1 or v2) with exactly one root, verifies
// every block against its CID, and, once the whole DAG under the root is
// here and durable, makes it a DAG object of this node's owner: recorded,
// listed, carried in the catalog and replicated like an add. The bundle is
// read as a stream: memory stays at a few blocks whatever its size. A
// bundle that fails leaves nothing behind: the blocks it brought are
// removed, at once or, if another write was under way, at the next start
// (blockgate.go).
func (n *Node) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error) {
	if n.keys.recovering.Load() {
		return ImportResult{}, fmt.Errorf("import: %w; import again when it is done", ErrRecovering)
	}
	replicas := opts.Replicas
	if replicas == 0 {
		replicas = n.cfg.Add.Replicas
	}
	ing := n.newIngest()
	dag, err := n.readBundle(ctx, r, ing)
	if err == nil {
		err = ing.commit(ctx)
	}
	if err != nil {
		ing.abort()
		return ImportResult{}, err
	}
	res, existing, err := n.ownDAG(ctx, dag, opts.Name, replicas)
	if err != nil {
		ing.abort()
		return ImportResult{}, err
	}
	fresh := ing.freshCount()
	ing.finish()
	return ImportResult{AddResult: res, DAG: dag.String(), Blocks: ing.count(), New: fresh, Existing: existing}, nil
}

// readBundle stores every block of the CAR in r through ing, and returns
// its one root.
func (n *Node) readBundle(ctx context.Context, r io.Reader, ing *dagIngest) (cid.Cid, error) {
	// Blocks are verified by ing, with object's rules and messages.
	car, err := carv2.NewBlockReader(r, carv2.MaxAllowedSectionSize(object.MaxDAGBlockSize+256), carv2.WithTrustedCAR(true))
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: read the header: %v", ErrBadBundle, err)
	}
	if len(car.Roots) != 1 {
		return cid.Undef, fmt.Errorf("%w: it names %d roots; Cairn imports a bundle with exactly one (export each DAG on its own)", ErrBadBundle, len(car.Roots))
	}
	root := car.Roots[0]
	if err := object.CheckDAGCID(root); err != nil {
		return cid.Undef, fmt.Errorf("%w: its root: %w", ErrBadBundle, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return cid.Undef, err
		}
		b, err := car.Next()
		if errors.Is(err, io.EOF) {
			return root, nil
		}
		if err != nil {
			return cid.Undef, fmt.Errorf("%w: block %d: %v", ErrBadBundle, ing.count()+1, err)
		}
		if err := ing.Put(ctx, b); err != nil {
			if errors.Is(err, object.ErrCorruptBlock) || errors.Is(err, object.ErrUnsupportedDAG) {
				err = fmt.Errorf("%w: block %d: %w", ErrBadBundle, ing.count(), err)
			}
			return cid.Undef, err
		}
	}
}

// ownDAG makes the DAG under dag, all of it stored here, an object of
// this node's owner: wrapped, recorded and tracked for replication. When
// the owner has that object already, it is left as it is (its name and
// target kept) and existing is true.
func (n *Node) ownDAG(ctx context.Context, dag cid.Cid, name string, replicas int) (res AddResult, existing bool, err error) {
	if rec, err := n.disk.index.get(ctx, dag.String()); err == nil && rec.Role == RoleOwner {
		// The owner's own object, exported and brought back: already here.
		return AddResult{CID: rec.ID, Encrypted: rec.Encrypted, Size: rec.Size, Replicas: rec.Replicas}, true, nil
	}
	if by := n.takenDown(ctx, dag); by != "" {
		return AddResult{}, false, fmt.Errorf("%w: %s is the DAG of %s, which the federation authority took down", ErrDeleted, dag, by)
	}
	var size uint64
	var count int
	err = object.WalkDAG(ctx, dag, n.disk.blocks, func(c cid.Cid) error {
		s, err := n.disk.blocks.GetSize(ctx, c)
		if err != nil {
			return fmt.Errorf("%w: it lacks block %s of its DAG: %v", ErrBadBundle, c, err)
		}
		size += uint64(s)
		count++
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrBadBundle) && (errors.Is(err, object.ErrCorruptBlock) || errors.Is(err, object.ErrUnsupportedDAG)) {
			err = fmt.Errorf("%w: %w", ErrBadBundle, err)
		}
		return AddResult{}, false, fmt.Errorf("import %s: %w", dag, err)
	}
	root, _, err := object.WrapDAG(n.ownerKeys().ObjectSecret(), dag, "", size, nil)
	if err == nil && !n.isDeleted(root.Cid().String()) {
		if rec, rerr := n.disk.index.get(ctx, root.Cid().String()); rerr == nil && rec.Role == RoleOwner {
			return AddResult{
				CID: rec.ID, Capability: object.PublicCapability(root.Cid()).String(), Size: rec.Size,
				Encrypted: rec.Encrypted, Replicas: rec.Replicas, IPFS: dag.String(),
			}, true, nil
		}
	}
	if err == nil && n.isDeleted(root.Cid().String()) {
		// The owner deleted this DAG before and now asks to keep it again:
		// a new object, since a deleted one never comes back by itself.
		salt := []byte(time.Now().UTC().Format(time.RFC3339Nano))
		root, _, err = object.WrapDAG(n.ownerKeys().ObjectSecret(), dag, "", size, salt)
	}
	if err != nil {
		return AddResult{}, false, fmt.Errorf("import %s: %w", dag, err)
	}
	if err := n.disk.blocks.Put(ctx, root); err != nil {
		return AddResult{}, false, fmt.Errorf("import %s: store its root: %w", dag, err)
	}
	// An encrypted Cairn object wrapped as a DAG stays unreadable to
	// storage peers; anything else is public.
	encrypted := false
	if h, err := object.Stat(ctx, dag, n.disk.blocks); err == nil {
		encrypted = h.Encrypted
	}
	capability := object.PublicCapability(root.Cid())
	stored := object.Result{
		Root: root.Cid(), Capability: capability, Encrypted: encrypted,
		Size: int64(size), StoredBytes: int64(size) + int64(len(root.RawData())),
	}
	if err := n.recordOwned(ctx, stored, dag, name, replicas); err != nil {
		return AddResult{}, false, err
	}
	n.catalogChanged()
	if err := n.trackAdded(ctx, root.Cid(), replicas, time.Time{}); err != nil {
		n.logger.Warn("replication does not track the imported object", "cid", root.Cid(), "err", err)
	}
	return AddResult{
		CID: root.Cid().String(), Capability: capability.String(), Name: name,
		Size: int64(size), Chunks: count, Encrypted: encrypted, Replicas: replicas,
		IPFS: dag.String(),
	}, false, nil
}

// takenDown returns the DAG object under a takedown that holds dag, if
// this node knows one (its root is in a policy or still stored): the
// authority's takedown must not be undone by pinning the DAG again under
// a new object.
func (n *Node) takenDown(ctx context.Context, dag cid.Cid) string {
	for _, o := range n.del.Takedowns() {
		root, err := cid.Decode(o)
		if err != nil {
			continue
		}
		raw, err := n.rootBlock(ctx, root)
		if err != nil {
			continue
		}
		if held, ok := object.DAGOfRoot(raw); ok && held.Hash().HexString() == dag.Hash().HexString() {
			return o
		}
	}
	return ""
}

// dagIngest stores the blocks of a DAG that comes from outside the
// federation (a bundle, an origin): each checked against the rules for
// DAG blocks, written through one batch made durable at commit, and
// remembered when it is new here, so that abort can take back what the
// ingest brought. It is a blockstore (reads see published blocks) for
// bitswap. It holds the node's block gate from start to finish or abort.
type dagIngest struct {
	*blockstore.Store
	n       *Node
	batch   *blockstore.Batch
	release func()

	mu     sync.Mutex
	blocks int       // guarded by mu
	fresh  []cid.Cid // guarded by mu: blocks this node did not have before
}

func (n *Node) newIngest() *dagIngest {
	return &dagIngest{Store: n.disk.blocks, n: n, batch: n.disk.blocks.NewBatch(), release: n.writingBlocks()}
}

// Put verifies b and stores it unless it is here already. Identity CIDs
// are skipped: their data is in the CID.
func (d *dagIngest) Put(ctx context.Context, b blocks.Block) error {
	c := b.Cid()
	d.mu.Lock()
	d.blocks++
	d.mu.Unlock()
	if c.Prefix().MhType == multihash.IDENTITY {
		return nil
	}
	if err := object.VerifyDAGBlock(c, b.RawData()); err != nil {
		return err
	}
	have, err := d.Store.Has(ctx, c)
	if err != nil || have {
		return err
	}
	if err := d.batch.Put(ctx, b); err != nil {
		return fmt.Errorf("store block %s: %w", c, err)
	}
	d.mu.Lock()
	d.fresh = append(d.fresh, c)
	d.mu.Unlock()
	return nil
}

func (d *dagIngest) PutMany(ctx context.Context, bs []blocks.Block) error {
	for _, b := range bs {
		if err := d.Put(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (d *dagIngest) freshCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.fresh)
}

func (d *dagIngest) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.blocks
}

// commit makes every block stored durable.
func (d *dagIngest) commit(ctx context.Context) error {
	if err := d.batch.Commit(ctx); err != nil {
		return fmt.Errorf("make blocks durable: %w", err)
	}
	return nil
}

// finish ends a successful ingest: its blocks belong to an object now,
// but for any the DAG does not reach (a bundle or gateway may send more
// than asked), which are taken back.
func (d *dagIngest) finish() {
	d.release()
	d.mu.Lock()
	fresh := d.fresh
	d.fresh = nil
	d.mu.Unlock()
	d.n.dropBlocks(d.n.del.Unused(fresh))
}

// abort drops what is queued and takes back the blocks the ingest stored
// that no object uses (dropBlocks).
func (d *dagIngest) abort() {
	d.batch.Discard()
	d.release()
	d.mu.Lock()
	fresh := d.fresh
	d.fresh = nil
	d.mu.Unlock()
	d.n.dropBlocks(fresh)
}
