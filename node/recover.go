package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/catalog"
	"github.com/cairn-fed/cairn/internal/keys"
)

// Errors of recovery callers branch on.
var (
	// ErrOwnsObjects means the node's owner added objects already, under
	// another key: recovering there would mix two owners' objects.
	ErrOwnsObjects = errors.New("node: this node's owner has added objects already, under another owner key; recover on a fresh node (cairn init, then join the federation)")
	// ErrNoCatalog means no connected member keeps a catalog head for
	// the owner key given.
	ErrNoCatalog = errors.New("node: no catalog found for this owner key")
	// ErrRecovering means a recovery is running already.
	ErrRecovering = errors.New("node: a recovery is running already")
)

// RecoverOptions are the choices of `cairn recover`.
type RecoverOptions struct {
	// At restores the listing as it was at this time; zero: the latest.
	At time.Time
}

// RecoveredObject is one object recovery found in the catalog.
type RecoveredObject struct {
	CID     string `json:"cid"`
	Name    string `json:"name,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
	// Error says why the object was not restored.
	Error string `json:"error,omitempty"`
}

// RecoverReport says what recovery found and what it could not reach.
type RecoverReport struct {
	Fingerprint    string            `json:"fingerprint"`
	CatalogVersion uint64            `json:"catalog_version"`
	CatalogTime    time.Time         `json:"catalog_time"`
	At             time.Time         `json:"at,omitzero"`
	MembersAsked   int               `json:"members_asked"`
	Restored       []RecoveredObject `json:"restored"`
	Unreachable    []RecoveredObject `json:"unreachable,omitempty"`
}

// AdoptOwner makes owner this node's owner key, for an owner restoring
// their key on a new machine: written to the repository (sealed under the
// daemon's passphrase, if it has one) and used from now on. It refuses
// when the node's current owner has added objects under another key.
func (n *Node) AdoptOwner(ctx context.Context, owner *keys.Owner) error {
	if !n.keys.recovering.CompareAndSwap(false, true) {
		return ErrRecovering
	}
	defer n.keys.recovering.Store(false)
	return n.adoptOwner(ctx, owner)
}

// mayAdopt returns ErrOwnsObjects when this node's owner added objects
// under a key other than owner.
func (n *Node) mayAdopt(ctx context.Context, owner *keys.Owner) error {
	if n.ownerKeys().Secret() == owner.Secret() {
		return nil
	}
	owns, err := n.ownsObjects(ctx)
	if err != nil {
		return err
	}
	if owns {
		return ErrOwnsObjects
	}
	return nil
}

func (n *Node) adoptOwner(ctx context.Context, owner *keys.Owner) error {
	if err := n.mayAdopt(ctx, owner); err != nil || n.ownerKeys().Secret() == owner.Secret() {
		return err
	}
	if err := n.disk.repo.WriteOwner(owner, n.keys.passphrase); err != nil {
		return err
	}
	n.keys.owner.Store(owner)
	n.disk.index.setKey(owner.IndexKey())
	n.cat.mu.Lock()
	n.cat.writer = nil // the next version goes on from the recovered head
	n.cat.mu.Unlock()
	n.logger.Info("owner key replaced", "fingerprint", owner.Fingerprint())
	return nil
}

// Recover restores, on a node admitted to the federation, what an owner
// who lost their machine had: it finds the latest head of the owner's
// catalog among the members, walks the catalog back to the time asked
// for, adopts the owner key, and restores every object of the listing:
// fetched and pinned again when live, recorded (for undelete) when
// deleted. Objects no member serves are reported, not listed.
func (n *Node) Recover(ctx context.Context, owner *keys.Owner, opts RecoverOptions) (RecoverReport, error) {
	if !n.keys.recovering.CompareAndSwap(false, true) {
		return RecoverReport{}, ErrRecovering
	}
	defer n.keys.recovering.Store(false)
	report := RecoverReport{Fingerprint: owner.Fingerprint(), At: opts.At}
	if err := n.mayAdopt(ctx, owner); err != nil {
		return report, err // before fetching anything
	}
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	head, capability, err := n.recoverHead(ctx, owner, &report)
	if err != nil {
		return report, err
	}
	chain, err := n.walkCatalog(ctx, owner, capability, at)
	if err != nil {
		return report, err
	}
	listing, err := catalog.Replay(versionsOf(chain), at)
	if err != nil {
		return report, fmt.Errorf("replay the catalog: %w", err)
	}
	if err := n.adoptOwner(ctx, owner); err != nil {
		return report, err
	}
	n.learnDeletions(ctx)
	n.continueCatalog(ctx, head, capability)
	for _, w := range chain {
		if err := n.recordCatalogVersion(ctx, w.Seq, w.root, w.capability, w.size, w.size); err != nil {
			n.logger.Warn("pin a recovered catalog version", "cid", w.root, "err", err)
		}
	}
	// Every entry is carried in the catalog until its object is restored,
	// so neither a catalog version written meanwhile nor a recovery cut
	// short drops what is not restored yet.
	for _, e := range listing.Entries() {
		if err := n.carryEntry(ctx, e); err != nil {
			return report, err
		}
	}
	results := n.restoreAll(ctx, listing.Entries())
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("recover cut short; run it again to restore the rest: %w", err)
	}
	for _, got := range results {
		if got.Error != "" {
			report.Unreachable = append(report.Unreachable, got)
		} else {
			report.Restored = append(report.Restored, got)
		}
	}
	n.catalogChanged()
	return report, nil
}

// recoverHead finds the newest head of the owner's catalog among the
// connected members and opens the capability it names.
func (n *Node) recoverHead(ctx context.Context, owner *keys.Owner, report *RecoverReport) (catalog.Head, string, error) {
	n.dialAllMembers(ctx)
	members := len(n.net.host.Network().Peers())
	if members == 0 {
		return catalog.Head{}, "", fmt.Errorf("%w: this node is connected to no member; join the federation first (cairn id, then `cairn federation admit` on the authority's node, then `cairn federation join TOKEN` here) and check `cairn peers`", ErrNoCatalog)
	}
	pub := owner.CatalogKey().Public().(ed25519.PublicKey)
	head, asked, err := n.findHead(ctx, pub)
	report.MembersAsked = asked
	if err != nil {
		return head, "", fmt.Errorf("%w: none of the %d members that answered (of %d connected) keeps one for the key with fingerprint %s; check the paper key or shares, and that the members that held the lost node's data are connected (`cairn peers`)", ErrNoCatalog, asked, members, owner.Fingerprint())
	}
	report.CatalogVersion, report.CatalogTime = head.Seq, head.Time
	capability, err := head.Open(owner.CatalogSealKey())
	if err != nil {
		return head, "", fmt.Errorf("open catalog head %d: %w", head.Seq, err)
	}
	return head, capability, nil
}

// walkedVersion is a catalog version recovery fetched.
type walkedVersion struct {
	catalog.Version
	capability string
	root       cid.Cid
	size       int64
}

func versionsOf(chain []walkedVersion) []catalog.Version {
	out := make([]catalog.Version, len(chain))
	for i, w := range chain {
		out[i] = w.Version
	}
	return out
}

// walkCatalog fetches versions back from the head until one from which
// the listing at time at can be replayed, and returns them oldest first.
func (n *Node) walkCatalog(ctx context.Context, owner *keys.Owner, capability string, at time.Time) ([]walkedVersion, error) {
	id := catalog.KeyID(owner.CatalogKey().Public().(ed25519.PublicKey))
	var chain []walkedVersion
	for {
		w, err := n.readCatalogVersion(ctx, capability, id)
		if err != nil {
			return nil, err
		}
		if len(chain) > 0 && w.Seq+1 != chain[0].Seq {
			return nil, fmt.Errorf("%w: version %d names version %d as the one before it", catalog.ErrMalformed, chain[0].Seq, w.Seq)
		}
		chain = append([]walkedVersion{w}, chain...)
		if w.Reaches(at) {
			return chain, nil
		}
		capability = w.Previous
	}
}

// readCatalogVersion fetches, opens and decodes one catalog version.
func (n *Node) readCatalogVersion(ctx context.Context, capability, catalogID string) (walkedVersion, error) {
	obj, err := n.Open(ctx, capability)
	if err != nil {
		return walkedVersion{}, fmt.Errorf("fetch a catalog version: %w", err)
	}
	var buf bytes.Buffer
	if err := obj.WriteFile(ctx, "catalog", &limitedBuffer{buf: &buf, left: catalog.MaxVersionSize}); err != nil {
		return walkedVersion{}, fmt.Errorf("open catalog version %s: %w", obj.Root(), err)
	}
	v, err := catalog.Decode(buf.Bytes(), catalogID)
	if err != nil {
		return walkedVersion{}, fmt.Errorf("catalog version %s: %w", obj.Root(), err)
	}
	return walkedVersion{Version: v, capability: capability, root: obj.Root(), size: int64(buf.Len())}, nil
}

// limitedBuffer fails writes past its limit.
type limitedBuffer struct {
	buf  *bytes.Buffer
	left int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, fmt.Errorf("%w: more than %d bytes", catalog.ErrMalformed, catalog.MaxVersionSize)
	}
	l.left -= len(p)
	return l.buf.Write(p)
}

// continueCatalog makes the recovered head this node's: its next version
// is a checkpoint that follows it.
func (n *Node) continueCatalog(ctx context.Context, head catalog.Head, capability string) {
	if _, err := n.offerHead(ctx, head, n.net.host.ID().String()); err != nil {
		n.logger.Warn("keep the recovered catalog head", "err", err)
	}
	state := catalog.WriterState{Seq: head.Seq, Head: capability}
	n.cat.mu.Lock()
	n.cat.writer = catalog.NewWriter(n.catalogID(), state, nil)
	n.cat.mu.Unlock()
	if err := n.saveWriterState(ctx, state); err != nil {
		n.logger.Warn("save the catalog writer's state", "err", err)
	}
}

// dialAllMembers connects to every member not connected yet, and waits
// for the dials: recovery asks every member for the catalog head and
// fetches from whichever holds the objects.
func (n *Node) dialAllMembers(ctx context.Context) {
	var wg sync.WaitGroup
	for _, id := range n.missingMembers(time.Now()) {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, memberDialTimeout)
			defer cancel()
			n.net.host.Connect(ctx, peer.AddrInfo{ID: id})
		})
	}
	wg.Wait()
}

// learnDeletions pulls the tombstones this node lacks from every connected
// member before recovery restores anything: a fresh node that just joined
// may not have heard of deletions yet, and would try to fetch objects no
// member serves any more.
func (n *Node) learnDeletions(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range n.net.host.Network().Peers() {
		wg.Go(func() {
			if err := n.syncTombstones(ctx, p); err != nil && ctx.Err() == nil {
				n.logger.Debug("tombstone sync before recovery", "peer", p, "err", err)
			}
		})
	}
	wg.Wait()
}

// ownsObjects reports whether the index records an object of the owner.
func (n *Node) ownsObjects(ctx context.Context) (bool, error) {
	recs, err := n.disk.index.list(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		if r.Role == RoleOwner {
			return true, nil
		}
	}
	return false, nil
}
