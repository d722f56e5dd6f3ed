// Package node wires a Cairn node together: the libp2p host, the private
// Kademlia DHT, bitswap, the durable block store and the object index. It
// owns every goroutine, socket and file; the logic packages it drives do no
// IO of their own.
package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ipfs/boxo/bitswap"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	pebbleds "github.com/ipfs/go-ds-pebble"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"golang.org/x/time/rate"

	"github.com/cairn-fed/cairn/internal/config"
	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/node/blockstore"
	"github.com/cairn-fed/cairn/node/deletions"
	"github.com/cairn-fed/cairn/node/events"
	"github.com/cairn-fed/cairn/node/membership"
	"github.com/cairn-fed/cairn/node/replicas"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/cairn-fed/cairn/node/status"
)

// ProtocolPrefix keeps Cairn's DHT and bitswap apart from the public IPFS
// network: peers speaking the public protocols never match.
const ProtocolPrefix = "/cairn"

// Node is a running Cairn node. It wires the subsystems together and
// owns every goroutine (work), socket (net) and file (disk).
//
// Locks, in the order they may be taken; each lives with the subsystem
// that owns it, whose package comment says more:
//  1. membership's change lock (node/membership), held across deciding,
//     storing and installing a roster.
//  2. the gossip topics' locks (gossipTopic, gossip.go), held across
//     joining a topic once, under the change lock when a roster is
//     installed.
//  3. the deletion state's write lock (node/deletions), held across a
//     change and its datastore write, so writes land in decision order.
//  4. the status cache's sort lock (node/status), held while it reads
//     the replication core.
//  5. the replication core's lock (node/replicas.Driver): only the core
//     runs under it, never disk or network IO, never a call out.
//  6. leaf locks, never held while another is taken or across IO:
//     membership's roster lock, the deletion state's, the observer's
//     (node/events), the catalog's, the outbox's, the links cache's, the
//     rejections', the greetings', the origins' and work's.
//
// The data path (bitswap serving blocks, challenges, attestations) takes
// only 5 and leaf locks. The block gate (disk.gate) is a read-write lock
// that writers of blocks hold across their writes and the orphan sweep
// across its scan: it is taken before any of the locks above and never
// under one.
type Node struct {
	// Set at construction, read-only afterwards.
	cfg    config.Config
	logger *slog.Logger
	keys   keyring // the owner key material and the node's identity key
	net    p2p     // the libp2p host, DHT, bitswap and gossip
	disk   onDisk  // the blocks, the object index and the repository
	work   *work   // every goroutine the node runs, which Close stops and waits for

	// The subsystems, each the owner of its lock.
	fed      *membership.Membership // who is a member now: roster, gater, authority key, last seen
	repl     replicator             // the replication core and the parts around it (replicate.go)
	del      *deletions.State       // tombstones, reference counts, hidden blocks
	obs      events.Observer        // the event stream and the counts health and metrics read
	status   status.Cache           // the latest pass over every object, for the overview (statuspass.go)
	cat      catalogState           // the owner's catalog and every member's catalog head
	origins  originsState           // fetches DAGs from outside the federation (pin.go)
	rejected rejections             // refused messages other than rosters, by kind
	// drillsClean is set while no drill failure is recorded, so that a
	// status look skips the lookup (drillstate.go).
	drillsClean atomic.Bool
}

// keyring is the node's key material.
type keyring struct {
	// owner is the unlocked owner key material; `cairn recover` replaces
	// it on a node that owns nothing yet (see ownerKeys).
	owner atomic.Pointer[keys.Owner]
	// passphrase seals the authority key in the repository (nil: the
	// repository's keys are not sealed). Set at construction.
	passphrase []byte
	// node is the identity key, signing attestations and acknowledgements.
	// Set at construction.
	node ed25519.PrivateKey
	// recovering is set while Recover or AdoptOwner runs: adds wait for
	// the owner key.
	recovering atomic.Bool
}

// p2p is how the node meets peers and clients. Set at construction,
// except what says otherwise.
type p2p struct {
	host    host.Host
	dht     *dht.IpfsDHT
	bitswap *bitswap.Bitswap
	pubsub  *pubsub.PubSub
	// private is set when a libp2p private-network key is in use.
	private    bool
	rosters    gossipTopic            // the roster topic, once joined (gossip.go)
	tombstones gossipTopic            // the tombstone topic, once joined (deletionsync.go)
	greeted    greetings              // peers greeted on their first connection (connections.go)
	pinsAPI    atomic.Pointer[string] // the Pinning Service API's URL while it runs
	// traffic counts the host's bytes in and out; nil on a simulated
	// network (Options.Host).
	traffic *metrics.BandwidthCounter
}

// onDisk is what the node keeps on disk. Set at construction.
type onDisk struct {
	blocks *blockstore.Store
	meta   *pebbleds.Datastore // the index, the ledger, the deletion state
	index  *index
	repo   *repo.Repo
	gate   blockGate // writers of blocks against taking back a failed write's (blockgate.go)
	// snapshotting is set while a snapshot is written: one at a time,
	// each reading every file of the metadata store (snapshot.go).
	snapshotting atomic.Bool
}

// Options are what a node needs besides its repository.
type Options struct {
	Owner  *keys.Owner // the unlocked owner key material
	Logger *slog.Logger
	// Passphrase, when set, is the one that unlocked the owner key: the
	// federation authority key is sealed under it too.
	Passphrase []byte
	// Host builds the libp2p host, for simulations (internal/sim runs
	// nodes on mocknet); it is handed the federation's gater, which a
	// simulated network may be unable to install (mocknet's is
	// unexported). Nil: a real TCP/QUIC host (swarm settings, PSK, gater).
	Host func(priv crypto.PrivKey, gater connmgr.ConnectionGater) (host.Host, error)
}

// New starts a node on an opened, locked repository.
func New(r *repo.Repo, opts Options) (_ *Node, err error) {
	if opts.Owner == nil {
		return nil, errors.New("node: no owner key material given")
	}
	n := &Node{cfg: r.Config, logger: opts.Logger, disk: onDisk{repo: r}, work: newWork()}
	n.keys.passphrase = opts.Passphrase
	n.keys.owner.Store(opts.Owner)
	if mib := r.Config.Replication.RepairMiBPerSec; mib > 0 {
		n.repl.repairLimit = rate.NewLimiter(rate.Limit(mib<<20), 4<<20) // a burst of one maximum block
	}
	if n.logger == nil {
		n.logger = slog.New(slog.DiscardHandler)
	}
	n.fed, err = membership.New(membership.Config{RosterFile: r.Path(repo.RosterFile), Authorities: r,
		Passphrase: opts.Passphrase, Logger: n.logger})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err := n.openStorage(r, opts.Owner); err != nil {
		return nil, err
	}
	stored, err := n.fed.LoadRoster()
	if err != nil {
		return nil, err
	}
	n.fed.RestrictGater(stored) // members only, from the first connection on
	if err := n.startNetwork(r, opts); err != nil {
		return nil, err
	}
	if err := n.loadFederation(context.Background(), stored); err != nil {
		return nil, err
	}
	if err := n.startReplication(context.Background()); err != nil {
		return nil, err
	}
	n.spawn(n.keepMembersConnected)
	if err := n.startCatalog(context.Background()); err != nil {
		return nil, err
	}
	if err := n.loadDrillsClean(context.Background()); err != nil {
		return nil, err
	}
	n.spawn(n.drillLoop) // restore drills (drill.go)
	n.spawn(n.catchUp)   // after a restore from a snapshot (catchup.go)
	n.spawn(n.snapshotLoop)
	if err := n.startEvents(r); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Node) openStorage(r *repo.Repo, owner *keys.Owner) error {
	if err := removeSnapshotWork(r); err != nil {
		return err
	}
	bs, err := blockstore.Open(r.Path(repo.BlocksDir), blockstore.DefaultConfig(), n.logger)
	if err != nil {
		return fmt.Errorf("open block store: %w", err)
	}
	n.disk.blocks = bs
	dir := r.Path(repo.IndexDir)
	if err := (privateFS{vfs.Default}).MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create index %s: %w", dir, err)
	}
	if err := makePrivate(dir); err != nil {
		return fmt.Errorf("open index %s: %w", dir, err)
	}
	meta, err := pebbleds.NewDatastore(dir, pebbleds.WithPebbleWriteOptions(pebble.Sync),
		pebbleds.WithPebbleOpts(&pebble.Options{FS: privateFS{vfs.Default}}))
	if err != nil {
		return fmt.Errorf("open index %s: %w", dir, err)
	}
	n.disk.meta = meta
	n.disk.index = &index{ds: meta}
	n.repl.ledger = replicas.NewLedger(meta)
	n.disk.index.setKey(owner.IndexKey())
	return nil
}

func (n *Node) startNetwork(r *repo.Repo, opts Options) error {
	priv, err := r.Identity()
	if err != nil {
		return err
	}
	pskPath := n.cfg.Swarm.PSKFile
	if pskPath != "" && !filepath.IsAbs(pskPath) {
		pskPath = r.Path(pskPath)
	}
	psk, err := readPSK(pskPath)
	if err != nil {
		return err
	}
	n.net.private = psk != nil
	if opts.Host != nil {
		n.net.host, err = opts.Host(priv, n.fed.Gater())
	} else {
		n.net.traffic = metrics.NewBandwidthCounter()
		n.net.host, err = newHost(priv, n.cfg.Swarm, psk, n.fed.Gater(), n.net.traffic)
	}
	if err != nil {
		return err
	}
	ctx := n.work.life
	if err := n.startGossip(ctx); err != nil {
		return err
	}
	if err := n.newReplicator(priv); err != nil {
		return err
	}
	if err := n.newDeletions(); err != nil {
		return err
	}
	n.net.dht, err = dht.New(n.net.host,
		dht.ProtocolPrefix(ProtocolPrefix),
		dht.Mode(dht.ModeServer),
	)
	if err != nil {
		return fmt.Errorf("start DHT: %w", err)
	}
	net := bsnet.NewFromIpfsHost(n.net.host, bsnet.Prefix(ProtocolPrefix))
	// Bitswap's defaults (1 MiB outstanding per peer, 16 KiB messages)
	// suit the public network's many small wants; a federation moves whole
	// objects of large blocks between few peers, and with one block in
	// flight per peer a transfer waits on round trips. Measured with
	// BenchmarkReplication: 256 MiB to R=3 went from 3.5 s to 2.5 s.
	// No provider search: nobody announces objects in the DHT, the node
	// dials an object's sources itself (sources.go).
	n.net.bitswap = bitswap.New(ctx, net, nil, servedBlocks{n.disk.blocks, n.serves},
		bitswap.MaxOutstandingBytesPerPeer(32<<20), bitswap.WithTargetMessageSize(1<<20))
	n.watchConnections()
	return nil
}

// Bootstrap connects to the configured bootstrap peers; failures are logged,
// not fatal, since a peer may come up later.
func (n *Node) Bootstrap(ctx context.Context) {
	for _, a := range n.cfg.Swarm.Bootstrap {
		if err := n.Connect(ctx, a); err != nil {
			n.logger.Warn("bootstrap peer unreachable", "addr", a, "err", err)
		}
	}
	if err := n.net.dht.Bootstrap(ctx); err != nil {
		n.logger.Warn("DHT bootstrap", "err", err)
	}
}

// Close stops the node, waiting for its parts to stop.
func (n *Node) Close() error {
	var errs []error
	if n.net.host != nil && n.disk.meta != nil {
		n.saveMemberAddrs(context.Background(), nil) // so a restart finds the members at once
	}
	if n.net.bitswap != nil {
		errs = append(errs, n.net.bitswap.Close())
	}
	errs = append(errs, n.closeOrigins())
	n.work.stop() // events from closing the host start no new work
	if n.net.dht != nil {
		errs = append(errs, n.net.dht.Close())
	}
	if n.net.host != nil {
		errs = append(errs, n.net.host.Close())
	}
	n.work.wg.Wait()
	if n.disk.blocks != nil {
		errs = append(errs, n.disk.blocks.Close()) // its count, so the next start stats no block
	}
	if n.disk.meta != nil {
		errs = append(errs, n.disk.meta.Close())
	}
	return errors.Join(errs...)
}
