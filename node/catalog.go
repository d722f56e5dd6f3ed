package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"

	"github.com/cairn-fed/cairn/catalog"
	"github.com/cairn-fed/cairn/internal/object"
)

// The owner's catalog (package catalog): this node writes a new version
// when its owner's listing changed, at most once per catalog.interval,
// as an ordinary encrypted object that replicates like any other, and
// publishes a head naming it to every member.

// writerStateKey holds the catalog writer's state, sealed under the index
// key (it names the latest version's capability).
var writerStateKey = datastore.NewKey("/catalog/writer")

// catalogState is the node's side of its owner's catalog.
type catalogState struct {
	mu     sync.Mutex
	writer *catalog.Writer // nil until the first flush; guarded by mu
	// changes counts the times the listing may have changed, and written
	// how many of those the latest version took in; guarded by mu.
	changes, written uint64
	lastWritten      time.Time      // guarded by mu
	lastError        string         // why the last write failed, if it did; guarded by mu
	heads            *catalog.Heads // every member's latest head, this owner's too; guarded by mu
	// held is set on a node restored from a snapshot until it has caught
	// up with the catalog the members keep (catchup.go): a version
	// written from the snapshot's listing would follow an older head and
	// leave out what the owner added since. Guarded by mu.
	held bool
}

// CatalogInfo is what `cairn catalog` shows of the owner's catalog.
type CatalogInfo struct {
	// Owner is the fingerprint of the owner key (as `cairn key export`
	// shows it); CatalogKey the start of the catalog's public key, under
	// which members keep its head.
	Owner      string    `json:"owner"`
	CatalogKey string    `json:"catalog_key"`
	Version    uint64    `json:"version"`
	Object     string    `json:"cid,omitempty"`
	WrittenAt  time.Time `json:"written_at,omitzero"`
	// Pending is set while changes wait for the next version.
	Pending bool `json:"pending"`
	// Error says why the last attempt to write a version failed.
	Error string `json:"error,omitempty"`
	// CatchingUp is set on a node restored from a snapshot until it has
	// learned what its owner added and deleted since (catchup.go): its
	// listing may lack objects that exist, so tools that mirror it should
	// not remove anything meanwhile.
	CatchingUp bool `json:"catching_up,omitempty"`
}

// catalogChanged notes that the owner's listing may have changed; the
// catalog loop writes a version within catalog.interval.
func (n *Node) catalogChanged() {
	n.cat.mu.Lock()
	n.cat.changes++
	n.cat.mu.Unlock()
}

// catalogLoop writes a new version when the listing changed and the last
// version is at least catalog.interval old.
func (n *Node) catalogLoop(ctx context.Context) {
	interval := n.cfg.Catalog.Interval.Duration
	// A short tick: the first version after a quiet spell is written
	// within a second of the change, later ones at most once an interval.
	tick := time.NewTicker(min(max(interval/4, 50*time.Millisecond), time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			n.cat.mu.Lock()
			due := n.cat.changes != n.cat.written && now.Sub(n.cat.lastWritten) >= interval && !n.cat.held
			n.cat.mu.Unlock()
			if !due {
				continue
			}
			err := n.writeCatalog(ctx)
			if err != nil && ctx.Err() == nil {
				n.logger.Warn("write the owner's catalog", "err", err)
			}
			n.cat.mu.Lock()
			n.cat.lastError = ""
			if err != nil {
				n.cat.lastError = err.Error()
			}
			n.cat.mu.Unlock()
		}
	}
}

// writeCatalog writes the next version of the owner's catalog, if the
// listing changed, and publishes its head. Only catalogLoop calls it, so
// versions are written one at a time.
func (n *Node) writeCatalog(ctx context.Context) error {
	defer n.writingBlocks()() // until its blocks are counted (blockgate.go)
	n.cat.mu.Lock()
	seen := n.cat.changes
	n.cat.mu.Unlock()
	listing, err := n.ownerListing(ctx)
	if err != nil {
		return err
	}
	w, err := n.catalogWriter(ctx, listing)
	if err != nil {
		return err
	}
	now := time.Now()
	n.cat.mu.Lock()
	v, ok := w.Next(listing, now)
	if !ok {
		n.cat.written = seen
	}
	n.cat.mu.Unlock()
	if !ok {
		return nil
	}
	capability, err := n.storeCatalogVersion(ctx, v)
	if err != nil {
		return err
	}
	// The head first: once the version counts as written, it is known.
	if err := n.publishOwnHead(ctx, v.Seq, capability, now); err != nil {
		return err
	}
	n.cat.mu.Lock()
	w.Written(v, capability, listing)
	state := w.State()
	n.cat.lastWritten, n.cat.written = now, seen
	n.cat.mu.Unlock()
	if err := n.saveWriterState(ctx, state); err != nil {
		n.logger.Warn("save the catalog writer's state", "err", err)
	}
	n.logger.Info("catalog version written", "version", v.Seq, "checkpoint", v.Checkpoint, "changes", len(v.Changes), "entries", len(listing))

	return nil
}

// catalogWriter returns the writer, making it from the saved state on
// first use.
func (n *Node) catalogWriter(ctx context.Context, listing catalog.Listing) (*catalog.Writer, error) {
	n.cat.mu.Lock()
	w := n.cat.writer
	n.cat.mu.Unlock()
	if w != nil {
		return w, nil
	}
	state, err := n.loadWriterState(ctx)
	if err != nil {
		return nil, err
	}
	w = catalog.NewWriter(n.catalogID(), state, listing)
	n.cat.mu.Lock()
	n.cat.writer = w
	n.cat.mu.Unlock()
	return w, nil
}

// catalogID is the hex catalog key of this node's owner.
func (n *Node) catalogID() string {
	return catalog.KeyID(n.ownerKeys().CatalogKey().Public().(ed25519.PublicKey))
}

// storeCatalogVersion stores v as an encrypted object of the owner's,
// kept out of listings, and tracks it for replication. It returns the
// version's capability.
func (n *Node) storeCatalogVersion(ctx context.Context, v catalog.Version) (string, error) {
	data, err := v.Encode()
	if err != nil {
		return "", err
	}
	res, err := n.store(ctx, object.NewReaderSource("catalog", bytes.NewReader(data)), AddOptions{})
	if err != nil {
		return "", fmt.Errorf("store catalog version %d: %w", v.Seq, err)
	}
	if err := n.recordCatalogVersion(ctx, v.Seq, res.Root, res.Capability.String(), res.StoredBytes, res.Size); err != nil {
		return "", err
	}
	return res.Capability.String(), nil
}

// recordCatalogVersion records version seq of the owner's catalog as an
// owned object kept out of listings (`cairn status` names it), and
// tracks it for replication.
func (n *Node) recordCatalogVersion(ctx context.Context, seq uint64, root cid.Cid, capability string, stored, size int64) error {
	sealed, err := n.disk.index.seal(ownerSecrets{Name: fmt.Sprintf("(catalog version %d)", seq), Capability: capability})
	if err != nil {
		return fmt.Errorf("seal catalog capability: %w", err)
	}
	replicas := n.cfg.Add.Replicas
	rec := ObjectRecord{ID: root.String(), Role: RoleOwner, Catalog: true, Encrypted: true, Size: size,
		StoredBytes: stored, Replicas: replicas, AddedAt: time.Now().UTC(), Sealed: sealed}
	if err := n.disk.index.put(ctx, rec); err != nil {
		return err
	}
	if err := n.trackAdded(ctx, root, replicas, time.Time{}); err != nil {
		n.logger.Warn("replication does not track the catalog version", "cid", root, "err", err)
	}
	return nil
}

// ownerListing is the owner's listing as the catalog records it: every
// object the owner added (catalog versions aside), with its deletion.
func (n *Node) ownerListing(ctx context.Context) (catalog.Listing, error) {
	recs, err := n.disk.index.list(ctx)
	if err != nil {
		return nil, err
	}
	l, err := n.carriedEntries(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Role != RoleOwner || r.Catalog {
			continue
		}
		e, err := n.catalogEntry(ctx, r)
		if err != nil {
			// A record sealed under another owner key (an add that raced
			// a key import) is left out, not allowed to stop the catalog.
			n.logger.Warn("left out of the owner's catalog", "cid", r.ID, "err", err)
			continue
		}
		l[r.ID] = e
	}
	return l, nil
}

func (n *Node) catalogEntry(ctx context.Context, r ObjectRecord) (catalog.Entry, error) {
	s, err := n.disk.index.open(r.Sealed)
	if err != nil {
		return catalog.Entry{}, fmt.Errorf("catalog entry of %s: %w", r.ID, err)
	}
	root, err := cid.Decode(r.ID)
	if err != nil {
		return catalog.Entry{}, fmt.Errorf("catalog entry of %s: %w", r.ID, err)
	}
	raw, err := n.rootBlock(ctx, root)
	if err != nil {
		return catalog.Entry{}, fmt.Errorf("catalog entry: %w", err)
	}
	e := catalog.Entry{Object: r.ID, Name: s.Name, Capability: s.Capability, Root: raw, Target: r.Replicas,
		Encrypted: r.Encrypted, Size: r.Size, AddedAt: r.AddedAt}
	t := n.del.Entry(r.ID)
	if t.Owner.Deleted {
		at := t.Owner.IssuedAt.UTC()
		e.DeletedAt = &at
	}
	return e, nil
}

func (n *Node) loadWriterState(ctx context.Context) (catalog.WriterState, error) {
	var state catalog.WriterState
	sealed, err := n.disk.meta.Get(ctx, writerStateKey)
	if errors.Is(err, datastore.ErrNotFound) {
		return state, nil
	}
	if err != nil {
		return state, fmt.Errorf("read the catalog writer's state: %w", err)
	}
	plain, err := n.disk.index.openBytes(sealed)
	if err != nil {
		n.logger.Warn("the catalog writer's state does not open with this owner key; starting a new catalog", "err", err)
		return catalog.WriterState{}, nil
	}
	if err := json.Unmarshal(plain, &state); err != nil {
		return catalog.WriterState{}, fmt.Errorf("decode the catalog writer's state: %w", err)
	}
	return state, nil
}

func (n *Node) saveWriterState(ctx context.Context, state catalog.WriterState) error {
	plain, err := json.Marshal(state)
	if err != nil {
		return err
	}
	sealed, err := n.disk.index.sealBytes(plain)
	if err != nil {
		return err
	}
	return n.disk.meta.Put(ctx, writerStateKey, sealed)
}

// publishOwnHead signs the head naming version seq, keeps it, and sends
// it to every connected member.
func (n *Node) publishOwnHead(ctx context.Context, seq uint64, capability string, now time.Time) error {
	owner := n.ownerKeys()
	priv := owner.CatalogKey()
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return fmt.Errorf("seal catalog head: %w", err)
	}
	h := catalog.Head{Seq: seq, Time: now}
	h.Sealed = catalog.Seal(owner.CatalogSealKey(), priv.Public().(ed25519.PublicKey), seq, capability, nonce)
	h.Sign(priv)
	if _, err := n.offerHead(ctx, h, n.net.host.ID().String()); err != nil {
		return fmt.Errorf("keep own catalog head: %w", err)
	}
	for _, p := range n.net.host.Network().Peers() {
		n.spawn(func(ctx context.Context) { n.pushHead(ctx, p, h) })
	}
	return nil
}

// Catalog reports on the owner's catalog.
func (n *Node) Catalog() CatalogInfo {
	owner := n.ownerKeys()
	pub := owner.CatalogKey().Public().(ed25519.PublicKey)
	info := CatalogInfo{Owner: owner.Fingerprint(), CatalogKey: catalog.KeyID(pub)[:16]}
	n.cat.mu.Lock()
	defer n.cat.mu.Unlock()
	info.Pending = n.cat.changes != n.cat.written
	info.Error = n.cat.lastError
	info.CatchingUp = n.cat.held
	if h, ok := n.cat.heads.Get(pub); ok {
		info.Version, info.WrittenAt = h.Seq, h.Time
	}
	if n.cat.writer != nil {
		if c, err := object.ParseCapability(n.cat.writer.State().Head); err == nil {
			info.Object = c.Root().String()
		}
	}
	return info
}

// catalogBehind handles a head of this owner's catalog written by another
// node (the owner recovered elsewhere, or an old machine came back): the
// head is verified and kept, and this node's next version is a checkpoint
// that follows it, so the two do not go on writing the same version
// numbers.
func (n *Node) catalogBehind(ctx context.Context, h catalog.Head) {
	owner := n.ownerKeys()
	if !ed25519.PublicKey(h.Catalog).Equal(owner.CatalogKey().Public().(ed25519.PublicKey)) || h.Verify(time.Now()) != nil {
		return
	}
	capability, err := h.Open(owner.CatalogSealKey())
	if err != nil {
		return
	}
	n.offerHead(ctx, h, n.net.host.ID().String()) // kept already when it came in, or older than what is
	state := catalog.WriterState{Seq: h.Seq, Head: capability}
	n.cat.mu.Lock()
	if n.cat.writer != nil && (n.cat.writer.State().Seq > h.Seq || n.cat.writer.State().Head == capability) {
		n.cat.mu.Unlock()
		return // this node's own version, or one it has passed
	}
	// The next change makes a checkpoint that follows h; following alone
	// writes nothing, or two writers would answer each other forever.
	n.cat.writer = catalog.NewWriter(n.catalogID(), state, nil)
	n.cat.mu.Unlock()
	n.logger.Warn("another node writes this owner's catalog too; this node's next version follows its latest", "version", h.Seq)
	if err := n.saveWriterState(ctx, state); err != nil {
		n.logger.Warn("save the catalog writer's state", "err", err)
	}
}
