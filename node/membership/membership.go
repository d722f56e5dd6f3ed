// Package membership keeps who is a member of the node's federation now:
// the verified roster and its durable copy in the repository, the
// connection gater that enforces it on every connection, the federation
// authority key on the node that keeps it, and when peers were last seen;
// and the small policies around members the node's dialing loop and join
// tokens use (DialBackoff, MembersToDial, MemberFor, TokenAddrs).
//
// It does no network IO. Changes to the roster are serialised by Change:
// the next roster is decided under the package's change lock, stored and
// made current, and then handed to an install hook from the node, which
// does the network side (joining the roster topic, closing connections
// of non-members, feeding the replication core, publishing).
//
// Lock order, outermost first:
//
//	Membership.change  held across decide, storing the roster file and the
//	                   install hook; the hook must not call Change
//	Membership.mu      held only to read or swap roster and authority: never
//	                   across disk or network IO, nor while calling out
//	seenTracker.mu     a leaf, taken alone
//	DialBackoff.mu     a leaf, taken alone
//
// The gater holds no lock: it reads its roster through an atomic pointer.
package membership

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/internal/atomicfile"
)

// ErrNoFederation means the node belongs to no federation yet. Its
// message says how to get in: members talk only to members, so nothing
// else (connecting, fetching) helps until then.
var ErrNoFederation = errors.New("membership: this node belongs to no federation yet; " + joinSteps)

// joinSteps says how a node becomes a member: only whoever holds the
// federation's authority key can admit it, and only by its peer ID.
const joinSteps = "to join one, run `cairn id` here and give the peer ID to whoever holds the federation's authority key; " +
	"they run `cairn federation admit PEER_ID --operator ORG --region REGION` and send you the token it prints; " +
	"then run `cairn federation join TOKEN` here (or found a new federation with `cairn federation create`)"

// Config is what a Membership is built from.
type Config struct {
	// RosterFile is where the latest verified roster is kept.
	RosterFile string
	// Authorities keeps the authority key on disk (*repo.Repo).
	Authorities AuthorityStore
	// Passphrase seals the authority key; nil: it is stored unsealed.
	Passphrase []byte
	// Logger receives warnings; nil: discarded.
	Logger *slog.Logger
	// Now is the clock members expire by; nil: time.Now.
	Now func() time.Time
}

// Validate names the field of c that is wrong.
func (c Config) Validate() error {
	if c.RosterFile == "" {
		return errors.New("membership: config.RosterFile is empty")
	}
	if c.Authorities == nil {
		return errors.New("membership: config.Authorities is nil")
	}
	return nil
}

// Install does the node's side of installing a roster that Change has
// just stored and made current. It runs with the change lock held.
type Install func(ctx context.Context, r federation.Roster) error

// Membership is the node's federation membership.
type Membership struct {
	// Set at construction, read-only afterwards.
	rosterFile string
	store      AuthorityStore
	passphrase []byte
	logger     *slog.Logger
	now        func() time.Time
	gater      *Gater
	seen       seenTracker
	rejected   atomic.Int64 // rosters from peers that were not applied

	// change serialises roster changes, so that concurrent changes
	// cannot undo each other. Taken before mu.
	change sync.Mutex
	// installed is the encoding of the roster whose install hook last
	// succeeded, guarded by change: a roster stored but not installed (its
	// hook failed) is installed again by the next change that decides it.
	installed []byte

	mu sync.Mutex
	// Guarded by mu.
	roster    *federation.Roster    // the latest verified roster; nil: none
	peers     []peer.ID             // roster.Members' peer IDs, decoded once
	authority *federation.Authority // nil unless this node keeps the key
}

// New returns a membership with no roster yet, whose gater admits anyone
// until RestrictGater or Change gives it a roster.
func New(cfg Config) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Membership{rosterFile: cfg.RosterFile, store: cfg.Authorities, passphrase: cfg.Passphrase,
		logger: cfg.Logger, now: cfg.Now}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.gater = &Gater{now: m.now}
	return m, nil
}

// Gater returns the connection gater to hand to the host.
func (m *Membership) Gater() *Gater { return m.gater }

// Admits reports whether p may be connected now.
func (m *Membership) Admits(p peer.ID) bool { return m.gater.Admits(p) }

// Roster returns the latest verified roster, or nil.
func (m *Membership) Roster() *federation.Roster {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.roster
}

// RosterPeers returns the latest verified roster, or nil, and its
// members' peer IDs in the order of r.Members, decoded once per roster
// (an ID that does not decode is ""). The caller must not modify either.
func (m *Membership) RosterPeers() (r *federation.Roster, ids []peer.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.roster, m.peers
}

// Change serialises every change of the roster: decide sees the current
// roster (nil if none) and returns the next one; nothing changes when it
// fails or returns the roster installed already. Otherwise the next roster
// is stored, made current, enforced by the gater, and handed to install;
// when install fails, the roster stays current and the next change that
// decides it (a gossiped copy, a restart) runs install again.
func (m *Membership) Change(ctx context.Context, decide func(cur *federation.Roster) (federation.Roster, error), install Install) error {
	m.change.Lock()
	defer m.change.Unlock()
	cur := m.Roster()
	next, err := decide(cur)
	if err != nil {
		return err
	}
	enc := next.Encode()
	if bytes.Equal(enc, m.installed) {
		return nil
	}
	if cur == nil || !bytes.Equal(enc, cur.Encode()) {
		if err := m.storeRoster(next); err != nil {
			return err
		}
		ids := make([]peer.ID, len(next.Members))
		for i, mem := range next.Members {
			ids[i], _ = peer.Decode(mem.PeerID) // checked on the way in; "" never matches a peer
		}
		m.mu.Lock()
		m.roster, m.peers = &next, ids
		m.mu.Unlock()
		m.gater.setRoster(&next)
	}
	if err := install(ctx, next); err != nil {
		return err
	}
	m.installed = enc
	return nil
}

// LoadRoster reads the stored roster, or nil when there is none.
func (m *Membership) LoadRoster() (*federation.Roster, error) {
	data, err := os.ReadFile(m.rosterFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	r, err := federation.DecodeRoster(data)
	if err != nil {
		return nil, fmt.Errorf("stored roster %s: %w", m.rosterFile, err)
	}
	return &r, nil
}

// RestrictGater makes the gater admit only r's members, before r is
// installed: a node restarting in a federation talks to members only from
// its first connection on.
func (m *Membership) RestrictGater(r *federation.Roster) { m.gater.setRoster(r) }

func (m *Membership) storeRoster(r federation.Roster) error {
	if err := atomicfile.Write(m.rosterFile, r.Encode(), 0o600); err != nil {
		return fmt.Errorf("store roster: %w", err)
	}
	return nil
}

// RosterRejected counts a roster from a peer that was not applied.
func (m *Membership) RosterRejected() { m.rejected.Add(1) }

// RostersRejected is how many rosters from peers were not applied.
func (m *Membership) RostersRejected() int64 { return m.rejected.Load() }
