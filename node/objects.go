package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"golang.org/x/time/rate"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/blockstore"
)

// AddOptions are the choices of `cairn add`.
type AddOptions struct {
	Name        string // shown in listings to the owner only
	Replicas    int    // 0: the configured default
	Unencrypted bool   // store plaintext; marked everywhere it is listed
	New         bool   // make a distinct object even for identical content
}

// AddResult is what an add reports once everything is durable.
type AddResult struct {
	CID        string `json:"cid"`
	Capability string `json:"capability"`
	Name       string `json:"name,omitempty"`
	Size       int64  `json:"size"`
	Files      int    `json:"files"`
	Chunks     int    `json:"chunks"`
	Encrypted  bool   `json:"encrypted"`
	Replicas   int    `json:"replicas"`
	// IPFS is, for a public object, the CID IPFS tools know its DAG by
	// (`ipfs cat`, `ipfs ls`): the root of its UnixFS DAG.
	IPFS string `json:"ipfs_cid,omitempty"`
}

// Add chunks, encrypts and stores an object, and records it only after its
// blocks are synced to disk: an add that fails or is killed leaves nothing
// listed.
func (n *Node) Add(ctx context.Context, src object.Source, opts AddOptions) (AddResult, error) {
	defer n.writingBlocks()() // until its blocks are counted (blockgate.go)
	if n.keys.recovering.Load() {
		return AddResult{}, fmt.Errorf("add: %w; add again when it is done", ErrRecovering)
	}
	replicas := opts.Replicas
	if replicas == 0 {
		replicas = n.cfg.Add.Replicas
	}
	res, err := n.store(ctx, src, opts)
	if err != nil {
		return AddResult{}, err
	}
	if !opts.New && n.isDeleted(res.Root.String()) {
		return AddResult{}, fmt.Errorf("%w: this content was added before as %s and deleted; run `cairn undelete %s` to restore it, or add it with --new to store it as a new object", ErrDeleted, res.Root, res.Root)
	}
	dag, _, _, err := object.DAGRoot(ctx, res.Root, n.disk.blocks)
	if err != nil {
		return AddResult{}, fmt.Errorf("add: %w", err)
	}
	if err := n.recordOwned(ctx, res, dag, opts.Name, replicas); err != nil {
		return AddResult{}, err
	}
	n.catalogChanged()
	if err := n.trackAdded(ctx, res.Root, replicas, time.Time{}); err != nil {
		n.logger.Warn("replication does not track the new object", "cid", res.Root, "err", err)
	}
	return AddResult{
		CID: res.Root.String(), Capability: res.Capability.String(), Name: opts.Name,
		Size: res.Size, Files: res.Files, Chunks: res.Chunks,
		Encrypted: res.Encrypted, Replicas: replicas, IPFS: cidString(dag),
	}, nil
}

// cidString is c's string form, or "" for cid.Undef.
func cidString(c cid.Cid) string {
	if !c.Defined() {
		return ""
	}
	return c.String()
}

func (n *Node) store(ctx context.Context, src object.Source, opts AddOptions) (object.Result, error) {
	batch := n.disk.blocks.NewBatch()
	addOpts := object.AddOptions{Unencrypted: opts.Unencrypted, OwnerSecret: n.ownerKeys().ObjectSecret()}
	if opts.New {
		addOpts.Salt = []byte(time.Now().UTC().Format(time.RFC3339Nano))
	}
	res, err := object.Add(ctx, src, n.ownerKeys().ContentSecret(), batch, addOpts)
	if err != nil {
		batch.Discard()
		return object.Result{}, fmt.Errorf("add: %w", err)
	}
	if err := batch.Commit(ctx); err != nil {
		return object.Result{}, fmt.Errorf("add: make blocks durable: %w", err)
	}
	return res, nil
}

// recordOwned records an object of this node's owner; dag is, for a DAG
// object, the root of the DAG it holds (else cid.Undef).
func (n *Node) recordOwned(ctx context.Context, res object.Result, dag cid.Cid, name string, replicas int) error {
	sealed, err := n.disk.index.seal(ownerSecrets{Name: name, Capability: res.Capability.String()})
	if err != nil {
		return fmt.Errorf("add: seal capability: %w", err)
	}
	return n.disk.index.put(ctx, ObjectRecord{
		ID: res.Root.String(), Role: RoleOwner, Encrypted: res.Encrypted,
		Size: res.Size, StoredBytes: res.StoredBytes, Replicas: replicas,
		AddedAt: time.Now().UTC(), Sealed: sealed, DAG: cidString(dag),
	})
}

// Open fetches every block of the object a capability names (from peers
// over bitswap when they are missing here), verifies them, and opens it with
// the capability's key.
func (n *Node) Open(ctx context.Context, capability string) (*object.Object, error) {
	defer n.writingBlocks()() // until its blocks are counted (blockgate.go)
	cp, err := object.ParseCapability(capability)
	if err != nil {
		if _, cerr := cid.Decode(strings.TrimSpace(capability)); cerr == nil {
			return nil, fmt.Errorf("%w; %s is a CID, not a capability: `cairn ls --json` lists the capabilities of your objects, and `cairn export CID -o FILE.car` writes a CID's DAG as a bundle", err, strings.TrimSpace(capability))
		}
		return nil, err
	}
	if n.isDeleted(cp.Root().String()) {
		return nil, fmt.Errorf("%w: %s was deleted by its owner or a takedown", ErrDeleted, cp.Root())
	}
	if err := n.fetch(ctx, cp.Root()); err != nil {
		return nil, err
	}
	obj, err := object.Open(ctx, cp, n.disk.blocks)
	if err != nil {
		return nil, err
	}
	if err := n.recordHeld(ctx, cp.Root(), obj.Header().Encrypted); err != nil {
		return nil, err
	}
	return obj, nil
}

// fetch makes sure every block of the DAG under root is in the local store:
// from disk when it is all here, else from connected peers over bitswap.
func (n *Node) fetch(ctx context.Context, root cid.Cid) error {
	return n.fetchLimited(ctx, root, nil)
}

// fetchLimited is fetch with the received bytes paced by limit, if not nil.
func (n *Node) fetchLimited(ctx context.Context, root cid.Cid, limit *rate.Limiter) error {
	complete, err := n.haveAll(ctx, root)
	if err != nil || complete {
		return err
	}
	if len(n.net.host.Network().Peers()) == 0 {
		return n.noSource(root, ErrNoPeers)
	}
	n.dialSources(root)
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Fetch.Timeout.Duration)
	defer cancel()
	ctx, stalled := n.watchProgress(ctx)
	batch := n.disk.blocks.NewBatch()
	serv := blockservice.New(fetchStore{Store: n.disk.blocks, batch: batch, limit: limit}, n.net.bitswap)
	if err := merkledag.FetchGraph(ctx, root, merkledag.NewDAGService(serv)); err != nil {
		batch.Discard()
		switch {
		case stalled():
			return n.noSource(root, fmt.Errorf("no peer sent a block for %s (fetch.stall_timeout); is a member that holds it connected?", n.cfg.Fetch.StallTimeout))
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return n.noSource(root, fmt.Errorf("no connected peer provided every block within %s (fetch.timeout); is a node holding it connected?", n.cfg.Fetch.Timeout))
		}
		return fmt.Errorf("fetch %s: %w", root, err)
	}
	if err := batch.Commit(ctx); err != nil {
		return fmt.Errorf("fetch %s: make blocks durable: %w", root, err)
	}
	return nil
}

// fetchStore is the block store a fetch writes through: received blocks go
// to one batch, made durable together when the whole object is here,
// instead of one sync per block. Reads see only blocks already published.
type fetchStore struct {
	*blockstore.Store
	batch *blockstore.Batch
	limit *rate.Limiter // paces what is received; nil: no limit
}

func (f fetchStore) Put(ctx context.Context, b blocks.Block) error {
	if f.limit != nil {
		if err := f.limit.WaitN(ctx, min(len(b.RawData()), f.limit.Burst())); err != nil {
			return err
		}
	}
	return f.batch.Put(ctx, b)
}

func (f fetchStore) PutMany(ctx context.Context, bs []blocks.Block) error {
	for _, b := range bs {
		if err := f.Put(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// errStalled cancels a fetch that stopped receiving blocks.
var errStalled = errors.New("fetch stalled")

// watchProgress cancels ctx when the DAG walk under it makes no progress
// for fetch.stall_timeout, and reports whether that is why it ended.
func (n *Node) watchProgress(ctx context.Context) (context.Context, func() bool) {
	var progress merkledag.ProgressTracker
	ctx, cancel := context.WithCancelCause(ctx)
	ctx = progress.DeriveContext(ctx)
	stall := n.cfg.Fetch.StallTimeout.Duration
	go func() {
		tick := time.NewTicker(stall / 4)
		defer tick.Stop()
		last, since := -1, time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if v := progress.Value(); v != last {
					last, since = v, now
				} else if now.Sub(since) >= stall {
					cancel(errStalled)
					return
				}
			}
		}
	}()
	return ctx, func() bool { return errors.Is(context.Cause(ctx), errStalled) }
}

// ErrNoPeers means blocks are missing and no peer is there to ask.
var ErrNoPeers = errors.New("node: some blocks are not on this node and no peer is connected; " +
	"`cairn peers` shows the members and when each was last seen; connect one that holds them with `cairn connect MULTIADDR`")

// noSource is the error of a fetch no peer could serve. Outside a
// federation the way forward is to be admitted to one, not to connect:
// members refuse every node they have not admitted.
func (n *Node) noSource(root cid.Cid, cause error) error {
	if !n.inFederation() {
		return fmt.Errorf("fetch %s: some blocks are not on this node, and only members of a federation can fetch them from its members: %w", root, ErrNoFederation)
	}
	return fmt.Errorf("fetch %s: %w", root, cause)
}

// haveAll reports whether every block of the object at root is stored
// here. A corrupt block is an error, not a missing one.
func (n *Node) haveAll(ctx context.Context, root cid.Cid) (bool, error) {
	complete := true
	err := object.Walk(ctx, root, n.disk.blocks, func(c cid.Cid) error {
		has, err := n.disk.blocks.Has(ctx, c)
		complete = complete && has
		return err
	})
	if ipld.IsNotFound(err) {
		return false, nil
	}
	return complete, err
}

func (n *Node) recordHeld(ctx context.Context, root cid.Cid, encrypted bool) error {
	if _, err := n.disk.index.get(ctx, root.String()); err == nil {
		return nil // owned or held already
	}
	blocks, err := n.objectLinks(ctx, root) // counts them, too
	if err != nil {
		return err
	}
	var stored int64
	for _, c := range blocks {
		size, err := n.disk.blocks.GetSize(ctx, c)
		if err != nil {
			return fmt.Errorf("size of %s: %w", c, err)
		}
		stored += int64(size)
	}
	_, err = n.disk.index.putIfAbsent(ctx, ObjectRecord{
		ID: root.String(), Role: RoleHolder, Encrypted: encrypted, Size: stored,
		StoredBytes: stored, AddedAt: time.Now().UTC(),
	})
	return err
}

// ObjectInfo is one line of `cairn ls`.
type ObjectInfo struct {
	ObjectRecord
	Name       string `json:"name,omitempty"`
	Capability string `json:"capability,omitempty"`
}

// List returns the objects this node owns or holds; for owned objects it
// opens the sealed name and capability.
func (n *Node) List(ctx context.Context) ([]ObjectInfo, error) {
	recs, err := n.disk.index.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ObjectInfo, 0, len(recs))
	for _, r := range recs {
		if r.Catalog {
			continue // the owner's catalog is shown by `cairn catalog`
		}
		info := ObjectInfo{ObjectRecord: r}
		if len(r.Sealed) > 0 {
			s, err := n.disk.index.open(r.Sealed)
			if err != nil {
				n.logger.Warn("sealed record does not open with this owner key", "cid", r.ID, "err", err)
			}
			info.Name, info.Capability = s.Name, s.Capability
		}
		info.Sealed = nil
		out = append(out, info)
	}
	return out, nil
}
