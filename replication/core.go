package replication

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"
)

// Core is one node's replication logic. Inputs go in with the current
// time; decisions come out of Tick as Actions.
//
// A Core is not safe for concurrent use: the node serialises all calls
// (one goroutine, or one mutex around the Core).
type Core struct {
	// set at construction
	cfg  Config
	self PeerID
	log  *slog.Logger

	members map[PeerID]Member
	revoked map[PeerID]bool
	roster  []Member // sorted by peer
	// rosterGen counts SetMembers calls; cached rankings compare it.
	rosterGen uint64

	ledger *Ledger
	local  map[ObjectID]*localObject
	// localChurn counts keys added to and removed from local.
	localChurn uint64
	// localGen counts changes to local copies held and their audiences
	// (told): what caches of them compare.
	localGen uint64
	lastSeq  uint64

	wakes   wakeQueue
	dirty   map[ObjectID]bool
	below   map[ObjectID]time.Time // since when covered copies are short of target
	above   map[ObjectID]time.Time // since when verified copies exceed target
	rounds  roundBook
	repairs map[ObjectID]repairJob // objects this node should fetch
	order   repairOrdering         // the order they are fetched in
	// fetching holds, for each object being fetched, its source group
	// (see repairJob); its length is the number of fetches in flight.
	fetching map[ObjectID]string
	// fetchTime is a moving average of how long fetches took (see
	// fetchBacklog).
	fetchTime    time.Duration
	limiter      *limiter // incoming challenges, per member
	attests      *limiter // incoming attestations, per member
	out          Actions
	toAttest     map[ObjectID]bool
	checkSalt    uint64
	deleted      map[ObjectID]bool // tombstoned: never challenged, repaired or released
	reachability                   // which members this node reaches (reach.go)
}

// localObject is an object this node holds, or is fetching.
type localObject struct {
	held, fetching, pinned bool
	// target is what this node asked for when it added the object (0 when
	// it did not); the owner's policy, when known, overrides it.
	target  int
	leaves  int       // blocks in this node's own copy; 0 while fetching
	since   int64     // unix ms this node first kept the object; 0 while fetching
	retryAt time.Time // after a failed fetch
	// fetchStart is when (unix ms) this node's fetch of it started; 0 for
	// a copy it added.
	fetchStart int64
	// What this node last published of its challenges of the other
	// holders (see proofNews).
	published []Proof
	// told lists, sorted, the peers sent an attestation of this object.
	told []PeerID
	// ranked caches the object's first rankedN members by Rank for
	// rankedGen.
	ranked    []PeerID
	rankedN   int
	rankedGen uint64
}

// Actions are the decisions of one Tick, for the node to carry out.
type Actions struct {
	// Publish holds signed attestations, already in the local ledger,
	// each with the peers it must reach (see Outgoing): persist each and
	// deliver it to every peer in To, holding it for peers that are
	// offline until they return.
	Publish []Outgoing
	// Challenges are rounds to send to each Challenge.Holder; report the
	// answer with ChallengeResponse, or CancelChallenge if it cannot go.
	Challenges []Challenge
	// Statements are this node's newly signed statements of its rounds,
	// each for its Recipient when connected (LatestStatement gives a
	// member that connects later its own). Members to which none of this
	// node's rounds matter get none.
	Statements []Statement
	// Fetches are objects to fetch in full and keep; report with FetchDone.
	Fetches []Fetch
	// Releases are local copies to delete. The core has already attested
	// that it no longer holds them.
	Releases []ObjectID
	// Changed lists, sorted, the objects this Tick evaluated: every object
	// whose status may have changed since the previous Tick (new or
	// changed records, challenge outcomes, roster changes, timers that
	// fell due). An object missing from it has the same status as
	// before, apart from ages. The node reports these to its event stream
	// and metrics instead of scanning every object.
	Changed []ObjectID
}

// Fetch asks the node to fetch an object; From lists known holders.
type Fetch struct {
	Object ObjectID
	From   []PeerID
}

// Empty reports whether there is nothing to do.
func (a *Actions) Empty() bool {
	return len(a.Publish)+len(a.Challenges)+len(a.Fetches)+len(a.Releases)+len(a.Changed)+len(a.Statements) == 0
}

// Errors of the driving API.
var (
	ErrUnknownChallenge = errors.New("replication: no such outstanding challenge")
	ErrNotFetching      = errors.New("replication: object is not being fetched")
	ErrInvalidTrack     = errors.New("replication: invalid track request")
	ErrDeleted          = errors.New("replication: object is deleted by a tombstone")
	// ErrOverBound means a member sent more than this node keeps or
	// checks for one member (MaxEntriesPerMember, AttestRate).
	ErrOverBound = errors.New("replication: member is over its bound")
)

// New returns a Core for the node self.
func New(cfg Config, self PeerID) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if self == "" {
		return nil, fmt.Errorf("%w: replication.self is empty", ErrInvalidConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	salt, err := randUint64(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("new replication core: %w", err)
	}
	return &Core{cfg: cfg, self: self, log: log, members: map[PeerID]Member{}, revoked: map[PeerID]bool{},
		ledger: NewLedger(), local: map[ObjectID]*localObject{}, dirty: map[ObjectID]bool{},
		below: map[ObjectID]time.Time{}, above: map[ObjectID]time.Time{}, rounds: newRoundBook(),
		repairs: map[ObjectID]repairJob{}, fetching: map[ObjectID]string{}, toAttest: map[ObjectID]bool{}, deleted: map[ObjectID]bool{},
		reachability: reachability{down: map[PeerID]time.Time{}, connectSyncs: newLimiter()},
		limiter:      newLimiter(), attests: newLimiter(), checkSalt: salt}, nil
}

// Ledger gives read access to the replica ledger (Summary, Missing, All).
// Apply attestations through Receive, which verifies them.
func (c *Core) Ledger() *Ledger { return c.ledger }

// TrackOptions describe an object this node holds.
type TrackOptions struct {
	// Target is the replicas this node's owner asked for when adding the
	// object (0..255, 0 when this node did not add it). The owner's
	// policy, when known, overrides it.
	Target int
	// Leaves is the number of blocks of this node's own copy, counted on
	// its own disk: challenges pick indices below it. Never a peer's word.
	Leaves int
	Pinned bool // never release this copy (set on the owner's node)
	// Since is when this node first kept the object (its own record's
	// time, kept across restarts); zero: now.
	Since time.Time
}

// Track records that this node holds obj (it added or fetched it). The
// core attests the copy to the object's audience at the next Tick.
func (c *Core) Track(obj ObjectID, opts TrackOptions, now time.Time) error {
	if obj == "" || opts.Target < 0 || opts.Target > maxTarget || opts.Leaves < 1 || opts.Leaves >= maxLeaves {
		return fmt.Errorf("%w: object %q target %d leaves %d", ErrInvalidTrack, obj, opts.Target, opts.Leaves)
	}
	if c.deleted[obj] {
		return fmt.Errorf("%w: object %q", ErrDeleted, obj)
	}
	lo := c.local[obj]
	if lo == nil {
		lo = &localObject{}
		c.local[obj] = lo
		c.localChurn++
	}
	if lo.fetching {
		c.fetchEnded(obj)
	}
	since := opts.Since
	if since.IsZero() {
		since = now
	}
	*lo = localObject{held: true, pinned: opts.Pinned, target: opts.Target, leaves: opts.Leaves, since: since.UnixMilli()}
	c.holdingChanged(obj)
	return nil
}

// Drop records that this node no longer has obj (deleted by a tombstone,
// or found missing). The core attests the loss at the next Tick.
func (c *Core) Drop(obj ObjectID, now time.Time) {
	if lo := c.local[obj]; lo != nil && lo.held {
		lo.held, lo.since = false, 0
		c.holdingChanged(obj)
	}
}

// SetDeleted records that a tombstone deletes obj (deleted true) or that
// an undelete restored it. While deleted, the core drops its local copy
// (attesting the loss), and neither challenges, repairs nor releases the
// object, whatever the ledger says; after a restore the node tracks its
// copy again with Track.
func (c *Core) SetDeleted(obj ObjectID, deleted bool, now time.Time) {
	if !deleted {
		delete(c.deleted, obj)
		c.dirty[obj] = true
		return
	}
	c.deleted[obj] = true
	c.unqueue(obj)
	delete(c.below, obj)
	delete(c.above, obj)
	c.Drop(obj, now)
}

// IsDeleted reports whether SetDeleted marked obj deleted.
func (c *Core) IsDeleted(obj ObjectID) bool { return c.deleted[obj] }

// Holds reports whether this node holds obj. A challenge for an object it
// does not hold is answered "refused".
func (c *Core) Holds(obj ObjectID) bool {
	lo := c.local[obj]
	return lo != nil && lo.held
}

func (c *Core) holdingChanged(obj ObjectID) {
	c.localGen++
	c.toAttest[obj] = true
	c.dirty[obj] = true
}

// Tick advances the core to now and returns what the node must do.
func (c *Core) Tick(now time.Time) Actions {
	if c.started.IsZero() {
		c.started = now
	}
	c.endJoinWatch(now)
	c.expireChallenges(now)
	c.expireRounds(now)
	for _, obj := range c.wakes.due(now) {
		c.dirty[obj] = true
	}
	dirty := sortedKeys(c.dirty)
	c.dirty = drained(c.dirty)
	for _, obj := range dirty {
		c.evaluate(obj, now)
	}
	c.startRounds(now)
	c.startRepairs(now)
	c.publish(now)
	c.publishStatement(now)
	out := c.out
	out.Changed = dirty
	c.out = Actions{}
	return out
}

// Objects returns, sorted, every object the ledger records or this node
// holds or fetches.
func (c *Core) Objects() []ObjectID {
	seen := make(map[ObjectID]struct{}, c.ledger.objects.len()+len(c.local))
	for e := range c.ledger.objects.all() {
		seen[e.id] = struct{}{}
	}
	for obj := range c.local {
		seen[obj] = struct{}{}
	}
	return sortedKeys(seen)
}

// Repairs returns how many fetches this node has decided on and not yet
// started (waiting for one of MaxConcurrentRepairs slots), and how many
// are in flight.
func (c *Core) Repairs() (queued, fetching int) { return len(c.repairs), len(c.fetching) }

// evaluate brings one object's timers, challenges, repair and release
// decisions up to date.
func (c *Core) evaluate(obj ObjectID, now time.Time) {
	if c.deleted[obj] {
		return
	}
	v := c.view(obj, now)
	c.trackSpans(obj, v, now)
	if c.Holds(obj) {
		c.scheduleChallenges(obj, v)
	}
	c.considerRepair(obj, v, now)
	c.considerRelease(obj, v, now)
	if lo := c.local[obj]; lo != nil && lo.held && !c.toAttest[obj] {
		c.tellNewcomers(obj, v, lo)
	}
	if !v.nextChange.IsZero() {
		c.wakes.push(obj, v.nextChange.Add(time.Millisecond))
	}
}

// trackSpans keeps the below/above-target timers and LastFullyReplicatedAt.
func (c *Core) trackSpans(obj ObjectID, v *view, now time.Time) {
	target := v.st.Target
	if fullNow(v.st.Copies, target) && v.e != nil {
		v.e.lastFull = now.UnixMilli()
	}
	short := target > 0 && v.st.Copies < target
	if _, known := c.below[obj]; short && !known {
		c.below[obj] = c.shortSince(v, now)
	} else if !short {
		delete(c.below, obj)
	}
	setSince(c.above, obj, target > 0 && v.st.Copies > target, now)
}

func setSince(m map[ObjectID]time.Time, obj ObjectID, on bool, now time.Time) {
	if !on {
		delete(m, obj)
		return
	}
	if _, ok := m[obj]; !ok {
		m[obj] = now
	}
}

// drained returns an empty set to use instead of m, whose keys were just
// taken. A map keeps the table of its largest size, and ranging over it
// costs that size however few keys are left: clearing the set of dirty
// objects after a burst of 30,000 made every later Tick walk 30,000
// empty slots (5 % of an idle node's CPU). A small one is reused.
func drained[V any](m map[ObjectID]V) map[ObjectID]V {
	if len(m) > 64 {
		return map[ObjectID]V{}
	}
	clear(m)
	return m
}

// sortedKeys returns m's keys (object or peer IDs), sorted.
func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// readRand fills b from the configured randomness.
func (c *Core) readRand(b []byte) error {
	if _, err := io.ReadFull(c.cfg.Rand, b); err != nil {
		return fmt.Errorf("read randomness: %w", err)
	}
	return nil
}
