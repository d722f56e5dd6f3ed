package node

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/replicas"
	"github.com/cairn-fed/cairn/replication"
)

// tickInterval is how often the loop advances the replication core when
// no input wakes it earlier: it bounds how late a timer (a challenge
// due, a grace period ending) is noticed. An idle tick costs microseconds.
const tickInterval = 100 * time.Millisecond

// minTickGap is the shortest time between two ticks when inputs (an
// attestation, a challenge answer, a finished fetch) wake the loop early.
// Each hop of placement (attest, decide, fetch, attest, challenge) then
// waits milliseconds instead of up to a tick.
const minTickGap = 5 * time.Millisecond

// replicator is the replication subsystem as the node holds it: the core
// behind its lock, and the parts around it, each with a leaf lock of its
// own (package replicas). The node's loop ticks the core and carries out
// what it decides (replicationLoop, carryOut).
type replicator struct {
	*replicas.Driver                 // the core; set at construction
	links            replicas.Links  // each kept object's block list, for challenges
	ledger           replicas.Ledger // the replica ledger on disk; set at construction
	outbox           replicas.Outbox // attestations on their way to peers
	repairLimit      *rate.Limiter   // paces repair fetches; nil: no limit; set at construction
}

// newReplicator creates the core, signing with the node's identity key,
// whose public half the roster records for this member.
func (n *Node) newReplicator(priv crypto.PrivKey) error {
	raw, err := priv.Raw()
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return fmt.Errorf("replication needs an ed25519 node identity: %v", err)
	}
	cfg := replicas.Config(n.cfg.Replication, n.cfg.Add.Replicas, ed25519.PrivateKey(raw), n.logger.With("part", "replication"))
	n.repl.Driver, err = replicas.NewDriver(cfg, replication.PeerID(n.net.host.ID().String()))
	if err != nil {
		return err
	}
	n.keys.node = ed25519.PrivateKey(raw)
	n.handle(ChallengeProtocol, n.handleChallengeStream)
	n.handle(StatementProtocol, n.handleStatementStream)
	n.handle(LedgerSyncProtocol, n.handleSyncStream)
	n.handle(AttestProtocol, n.handleAttestStream)
	return nil
}

// startReplication restores the ledger and the tracked objects, then
// starts the loop. It runs after the roster is loaded, so that stored
// attestations verify against the members' keys.
func (n *Node) startReplication(ctx context.Context) error {
	if err := n.restoreLedger(ctx); err != nil {
		return err
	}
	if err := n.restoreDeletions(ctx); err != nil {
		return err
	}
	resync := n.del.MustResync(ctx, time.Now())
	n.spawn(n.deletionLoop)
	if resync {
		n.logger.Warn("offline longer than deletion.retention: resynchronising tombstones with a member before serving anything")
		n.spawn(n.resyncThenServe)
		return nil
	}
	return n.serveAfterRestore(ctx)
}

// serveAfterRestore tracks the kept objects (deleted ones stay dropped),
// starts serving blocks and starts the replication loop.
func (n *Node) serveAfterRestore(ctx context.Context) error {
	if err := n.retrackObjects(ctx); err != nil {
		return err
	}
	if err := n.sweepOrphans(ctx); err != nil {
		n.logger.Warn("take back blocks of failed writes", "err", err)
	}
	n.del.HideDeleted()
	n.del.SetReady()
	n.spawn(n.replicationLoop)
	n.spawn(n.warmStatus)
	return nil
}

// resyncThenServe waits until a tombstone exchange with some member
// succeeds, then serves.
func (n *Node) resyncThenServe(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		for _, p := range n.net.host.Network().Peers() {
			if err := n.syncTombstones(ctx, p); err == nil {
				if err := n.serveAfterRestore(ctx); err != nil {
					n.logger.Error("start serving after tombstone resync", "err", err)
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// replicationRoster feeds a newly installed roster to the core and joins
// the deletion topic of the federation.
func (n *Node) replicationRoster(r federation.Roster) error {
	now := time.Now()
	n.repl.Do(func(c *replication.Core) { c.SetMembers(r.ReplicationMembers(now), now) })
	_, err := n.deletionTopic(r.FederationID)
	return err
}

// replicationLoop ticks the core until Close.
func (n *Node) replicationLoop(ctx context.Context) {
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		n.carryOut(ctx, n.repl.Tick(time.Now()))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.repl.Woken():
			// An input arrived: tick now rather than at the next period,
			// but at most every minTickGap, so bursts of input batch up.
			select {
			case <-ctx.Done():
				return
			case <-time.After(minTickGap):
			}
		}
	}
}

// carryOut performs one Tick's decisions.
func (n *Node) carryOut(ctx context.Context, acts replication.Actions) {
	n.recordChanged(acts.Changed)
	for _, out := range acts.Publish {
		// What this node could not record it does not claim to others: a
		// restart would forget it. Anti-entropy offers the ledger's
		// attestations again once the store works.
		if err := n.repl.ledger.Store(ctx, out.Attestation); err != nil {
			n.logger.Warn("attestation not delivered", "err", err)
			continue
		}
		n.deliver(out)
	}
	for _, ch := range acts.Challenges {
		n.spawn(func(ctx context.Context) { n.sendChallenge(ctx, ch) })
	}
	n.shareStatements(acts.Statements)
	for _, f := range acts.Fetches {
		n.spawn(func(ctx context.Context) { n.repairFetch(ctx, f) })
	}
	for _, obj := range acts.Releases {
		n.release(ctx, obj)
	}
}

// repairFetch fetches a whole object the core asked for, records it as
// held and tracks it, then reports the outcome.
func (n *Node) repairFetch(ctx context.Context, f replication.Fetch) {
	start := time.Now()
	n.logger.Info("repair: fetching a copy", "cid", f.Object, "from", len(f.From))
	n.noteRepairStarted(f)
	leaves, err := n.fetchAndRecord(ctx, f)
	if err != nil && ctx.Err() == nil {
		n.logger.Warn("repair fetch failed", "cid", f.Object, "err", err)
	}
	if err != nil {
		leaves = 0
	}
	n.repl.Do(func(c *replication.Core) { _ = c.FetchDone(f.Object, leaves, time.Now()) })
	if err == nil {
		n.repinOwn(ctx, f.Object, leaves)
	}
	if err == nil {
		n.logger.Info("repair: copy stored", "cid", f.Object, "took", time.Since(start).Round(time.Millisecond))
	}
	n.noteRepairFinished(f.Object, err)
}

// repinOwn keeps a copy this node fetched back pinned when its owner
// added the object (its copy was lost, its record kept: see lostCopy), so
// it is never released as a surplus copy.
func (n *Node) repinOwn(ctx context.Context, obj replication.ObjectID, leaves int) {
	rec, err := n.disk.index.get(ctx, string(obj))
	if err != nil || rec.Role != RoleOwner {
		return
	}
	opts := replication.TrackOptions{Target: rec.Replicas, Leaves: leaves, Pinned: true, Since: rec.AddedAt}
	n.repl.Do(func(c *replication.Core) { err = c.Track(obj, opts, time.Now()) })
	if err != nil {
		n.logger.Warn("pin a copy fetched back", "cid", obj, "err", err)
	}
}

func (n *Node) fetchAndRecord(ctx context.Context, f replication.Fetch) (int, error) {
	defer n.writingBlocks()() // until its blocks are counted (blockgate.go)
	root, err := cid.Decode(string(f.Object))
	if err != nil {
		return 0, fmt.Errorf("object id %q: %w", f.Object, err)
	}
	if err := n.fetchLimited(ctx, root, n.repl.repairLimit); err != nil {
		return 0, err
	}
	if n.isDeleted(root.String()) {
		return 0, fmt.Errorf("%w while it was fetched: %s", ErrDeleted, root)
	}
	h, err := object.Stat(ctx, root, n.disk.blocks)
	if err != nil {
		return 0, fmt.Errorf("read header of %s: %w", root, err)
	}
	if err := n.recordHeld(ctx, root, h.Encrypted); err != nil {
		return 0, err
	}
	blocks, err := n.objectLinks(ctx, root)
	return len(blocks), err
}

// release forgets a surplus copy and removes the blocks no other object
// kept here uses.
func (n *Node) release(ctx context.Context, obj replication.ObjectID) {
	if err := n.removeObject(ctx, string(obj)); err != nil {
		n.logger.Warn("release copy", "cid", obj, "err", err)
	}
	n.repl.Do(func(c *replication.Core) { c.Drop(obj, time.Now()) })
	n.logger.Info("released a surplus copy", "cid", obj)
}

// trackAdded tracks an object this node's owner just added: pinned here,
// with the replicas asked for, signed into the object's policy. since is
// its index record's time when that is older than now (a recovered
// object); zero means now.
func (n *Node) trackAdded(ctx context.Context, root cid.Cid, replicas int, since time.Time) error {
	blocks, err := n.objectLinks(ctx, root)
	if err != nil {
		return err
	}
	if err := n.setOwnPolicy(ctx, root, replicas); err != nil {
		return err
	}
	opts := replication.TrackOptions{Target: replicas, Leaves: len(blocks), Pinned: true, Since: since}
	var terr error
	n.repl.Do(func(c *replication.Core) { terr = c.Track(replication.ObjectID(root.String()), opts, time.Now()) })
	return terr
}

// objectLinks returns the distinct blocks of an object in walk order, the
// list challenges index into. It is cached: it never changes for a CID.
func (n *Node) objectLinks(ctx context.Context, root cid.Cid) ([]cid.Cid, error) {
	if cached, ok := n.repl.links.Get(root.String()); ok {
		return cached, nil
	}
	blocks, err := object.Links(ctx, root, n.disk.blocks)
	if err != nil {
		return nil, fmt.Errorf("list blocks of %s: %w", root, err)
	}
	n.repl.links.Put(root.String(), blocks)
	n.del.NoteBlocks(root.String(), blocks)
	return blocks, nil
}

// onMemberDisconnected tells the core that a peer lost its last
// connection: copies it holds stop counting at once (a dead holder would
// otherwise count until its proofs go stale), and count again on its
// proofs when it is back (onPeerUp). The core keeps this in memory only,
// so a restart of the peer, or of this node, leaves no record of it.
func (n *Node) onMemberDisconnected(p peer.ID) {
	if n.net.host.Network().Connectedness(p) == network.Connected {
		return
	}
	n.notePeer(p, false)
	n.peerDown(p)
}

// peerDown reports p unreachable to the core, unless it is connected
// again: the check and the report are one step under the core's lock, as
// onPeerUp's are, so a connection that opens between them cannot leave
// p down (onPeerUp would find it not down yet and do nothing, and the
// down record would stay until that connection closed).
func (n *Node) peerDown(p peer.ID) {
	n.repl.Do(func(c *replication.Core) {
		if n.net.host.Network().Connectedness(p) != network.Connected {
			c.PeerDown(replication.PeerID(p.String()), time.Now())
		}
	})
}

// onPeerUp reports a connected peer to the core, which counts the copies
// it holds again if it had seen it unreachable.
func (n *Node) onPeerUp(p peer.ID) {
	id := replication.PeerID(p.String())
	var down bool
	n.repl.Read(func(c *replication.Core) { _, down = c.Unreachable(id) })
	if !down {
		return // the common case, under the shared lock only
	}
	n.repl.Do(func(c *replication.Core) {
		if _, down := c.Unreachable(id); down && n.net.host.Network().Connectedness(p) == network.Connected {
			c.PeerUp(id, time.Now())
		}
	})
}
