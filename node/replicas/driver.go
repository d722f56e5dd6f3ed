// Package replicas is the node's shell around replication.Core: it owns
// the core and the one lock every call to it takes, the wake-up of the
// loop that ticks it, the block lists challenges index into, the
// attestations waiting for their peers, and the replica ledger kept on
// disk. It opens no stream and
// dials no peer: package node carries out the core's decisions and feeds
// it what arrives.
//
// Lock order: Driver's lock is taken by node's data path (challenges,
// attestations, fetches) and is never held across disk or network IO:
// the functions given to Do and Read may only call the core (no IO, no
// logging, no other lock), which does no IO itself. Links and Outbox each
// have a leaf lock of their own, never held while another lock is taken
// or while calling out of this package.
package replicas

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/config"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/replication"
)

// Driver serialises every call to the replication core. The core is
// single-threaded: callers reach it only through Do, Read and Tick.
type Driver struct {
	mu   sync.Mutex
	core *replication.Core // guarded by mu

	wake chan struct{} // kicks the loop; buffered, one pending kick; set at construction
}

// NewDriver starts a core for self with cfg.
func NewDriver(cfg replication.Config, self replication.PeerID) (*Driver, error) {
	core, err := replication.New(cfg, self)
	if err != nil {
		return nil, fmt.Errorf("start replication: %w", err)
	}
	return &Driver{core: core, wake: make(chan struct{}, 1)}, nil
}

// Do runs fn with the core, serialised with every other caller, and wakes
// the loop: an input may have made a decision due.
func (d *Driver) Do(fn func(c *replication.Core)) {
	d.mu.Lock()
	fn(d.core)
	d.mu.Unlock()
	d.kick()
}

// Read runs fn with the core without waking the loop, for callers that
// only query it (status, metrics, summaries): reading never costs a tick.
// fn must call only the core's queries.
func (d *Driver) Read(fn func(c *replication.Core)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d.core)
}

// Tick advances the core to now and returns what it decided.
func (d *Driver) Tick(now time.Time) replication.Actions {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.core.Tick(now)
}

// kick asks the loop to tick soon.
func (d *Driver) kick() {
	select {
	case d.wake <- struct{}{}:
	default: // a tick is already pending
	}
}

// Woken receives once after each run of kicks.
func (d *Driver) Woken() <-chan struct{} { return d.wake }

// Config maps the node's replication settings onto the core's, signing
// with key; defaultTarget is the replicas an object wants unless its
// owner says otherwise.
func Config(cfg config.Replication, defaultTarget int, key ed25519.PrivateKey, logger *slog.Logger) replication.Config {
	c := replication.DefaultConfig()
	c.Key, c.Rand, c.Logger = key, rand.Reader, logger
	c.BindOwner, c.DefaultTarget = BindOwner, defaultTarget
	c.ChallengeInterval = cfg.ChallengeInterval.Duration
	c.ChallengeTimeout = cfg.ChallengeTimeout.Duration
	c.ProofFreshness = cfg.ProofFreshness.Duration
	c.RepairGrace = cfg.RepairGrace.Duration
	c.RepairEscalation = cfg.RepairEscalation.Duration
	c.ReconnectGrace = cfg.ReconnectGrace.Duration
	c.ReleaseGrace = cfg.ReleaseGrace.Duration
	c.MaxConcurrentRepairs = cfg.RepairConcurrency
	c.MaxEntriesPerMember = cfg.MaxEntriesPerMember
	c.AttestRate = float64(cfg.MaxAttestationsPerSecond)
	c.MaxTarget = cfg.MaxTarget
	return c
}

// BindOwner is the core's replication.BindOwner: the owner key an object
// ID commits to, read from untrusted root bytes.
func BindOwner(obj replication.ObjectID, root []byte) (ed25519.PublicKey, error) {
	id, err := cid.Decode(string(obj))
	if err != nil {
		return nil, fmt.Errorf("%w: object id %q: %v", replication.ErrNotBound, obj, err)
	}
	key, err := object.BoundOwner(id, root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", replication.ErrNotBound, err)
	}
	return key, nil
}
