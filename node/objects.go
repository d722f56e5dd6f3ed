package node

import (
	"context"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/object"
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
	cp, err := n.readable(capability)
	if err != nil {
		return nil, err
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
