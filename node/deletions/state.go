// Package deletions owns the node's tombstone state: the verified set of
// tombstones and acknowledgements (package tombstone), the blocks' reference
// counts and the blocks hidden because every object using them is deleted,
// who held each object when its deletion arrived, the tombstones waiting
// for their object's owner key, and the durable deletion state in the
// node's datastore.
//
// The node wires it: it signs tombstones, gossips and synchronises them,
// tells the replication core and the catalog what changed, and runs the
// deletion loop. State answers questions and records decisions.
//
// Lock order: State has two mutexes. writeMu is held across each change
// and its datastore write, so that writes reach the disk in the order the
// changes were decided; it is taken first, and the tombstone.Keys the node
// supplies are asked under it (they may lock the replication core, never
// this package). mu guards the state and is a leaf lock: never held across
// disk or network IO, never held while calling out. The data path
// (Serves, IsDeleted, which bitswap asks for every block) takes only mu.
package deletions

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-datastore"

	"github.com/cairn-fed/cairn/tombstone"
)

// State is the node's deletion state.
type State struct {
	// Set at construction.
	ds      datastore.Datastore
	logger  *slog.Logger
	keys    tombstone.Keys // asked without mu held
	maxSkew time.Duration

	// writeMu is held across each change and its write, so that writes
	// reach the disk in the order the changes were decided (a later
	// tombstone never lies under an earlier one). Taken before mu, and
	// before the keys are asked; the data path (Serves, IsDeleted) never
	// takes it.
	writeMu sync.Mutex

	// ready is false until stored tombstones are applied (and, after a long
	// absence, resynchronised with a member): no block is served before.
	ready atomic.Bool

	mu      sync.Mutex
	set     *tombstone.Set      // guarded by mu
	blocks  *tombstone.Blocks   // which kept objects use which blocks, which are hidden; guarded by mu
	holders map[string][]string // holders at deletion by object, guarded by mu
	pending waiting             // tombstones waiting for their owner key, guarded by mu
	// unsaved holds deletion state whose write failed, by key, guarded by
	// mu; RetryUnsaved writes it again.
	unsaved map[datastore.Key][]byte
	// looked holds the keys asked of State.keys for the call in progress,
	// guarded by mu: the set reads them through lookedKeys.
	looked lookedUp
}

// New returns an empty deletion state that stores itself in ds. keys
// decides who may sign for what; it is asked under writeMu, never with mu
// held. A nil logger discards.
func New(cfg tombstone.Config, keys tombstone.Keys, ds datastore.Datastore, logger *slog.Logger) (*State, error) {
	if ds == nil {
		return nil, errors.New("deletions: datastore is nil")
	}
	if keys == nil {
		return nil, errors.New("deletions: keys is nil")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &State{ds: ds, logger: logger, keys: keys, maxSkew: cfg.MaxClockSkew, blocks: tombstone.NewBlocks(),
		holders: map[string][]string{}, pending: newWaiting(),
		unsaved: map[datastore.Key][]byte{}}
	set, err := tombstone.NewSet(cfg, lookedKeys{s})
	if err != nil {
		return nil, fmt.Errorf("deletions: tombstone set: %w", err)
	}
	s.set = set
	return s, nil
}

// MaxSkew is how far ahead of now a signed time may lie.
func (s *State) MaxSkew() time.Duration { return s.maxSkew }

// IsDeleted reports whether a tombstone currently deletes obj.
func (s *State) IsDeleted(obj string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.IsDeleted(obj)
}

// Entry is what the set knows of obj, both lanes; zero when nothing.
func (s *State) Entry(obj string) tombstone.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, _ := s.set.Get(obj)
	return e
}

// PurgeAt is when obj's blocks are removed, if it is deleted and not
// purged yet.
func (s *State) PurgeAt(obj string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.PurgeAt(obj)
}

// Apply verifies and merges a tombstone from anywhere (from names the peer
// it came from, or is empty) and reports whether obj was and is deleted
// and whether anything changed. A tombstone whose object's owner is not
// known yet waits (AwaitOwner) and is reported as ErrUnknownObject. When
// changed is true, a non-nil err means the tombstone holds but its write
// failed: it is kept and RetryUnsaved writes it again.
func (s *State) Apply(ctx context.Context, t tombstone.Tombstone, from string, now time.Time) (wasDeleted, isDeleted, changed bool, err error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	looked := lookedUp{object: t.Object, owner: s.keys.ObjectOwner(t.Object), authority: s.keys.Authority()}
	s.mu.Lock()
	s.looked = looked
	wasDeleted = s.set.IsDeleted(t.Object)
	changed, err = s.set.Apply(t, now)
	if errors.Is(err, tombstone.ErrUnknownObject) {
		s.awaitOwnerLocked(t, from)
	}
	isDeleted = s.set.IsDeleted(t.Object)
	s.looked = lookedUp{}
	s.mu.Unlock()
	if err != nil || !changed {
		return wasDeleted, isDeleted, false, err
	}
	return wasDeleted, isDeleted, true, s.persist(ctx, TombstoneKey(t), t)
}

// ApplyAck verifies and merges a holder's acknowledgement. As with Apply,
// changed with a non-nil err means it holds but its write failed.
func (s *State) ApplyAck(ctx context.Context, a tombstone.Ack, now time.Time) (changed bool, err error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	looked := lookedUp{holder: a.Holder, holderKey: s.keys.HolderKey(a.Holder)}
	s.mu.Lock()
	s.looked = looked
	changed, err = s.set.ApplyAck(a, now)
	s.looked = lookedUp{}
	s.mu.Unlock()
	if err != nil || !changed {
		return false, err
	}
	return true, s.persist(ctx, AckKey(a), a)
}

// Applied records that obj's deletion took effect here: its blocks are
// hidden, and holders (those keeping a copy now) are remembered as the
// holders at deletion unless some already are. An object undeleted
// meanwhile is left as Lifted made it.
func (s *State) Applied(ctx context.Context, obj string, holders []string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	_, known := s.holders[obj]
	deleted := s.set.IsDeleted(obj)
	if !known && deleted {
		s.holders[obj] = holders
	}
	s.rehideLocked(obj)
	s.mu.Unlock()
	if known || !deleted {
		return nil
	}
	return s.persist(ctx, holdersKey(obj), holders)
}

// Lifted records that obj is live again: its blocks are served, if still
// here, and its holders at deletion are forgotten.
func (s *State) Lifted(ctx context.Context, obj string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	s.rehideLocked(obj)
	delete(s.holders, obj)
	s.mu.Unlock()
	return s.persist(ctx, holdersKey(obj), nil)
}

// DuePurges lists the deleted objects whose trash window has passed.
func (s *State) DuePurges(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.DuePurges(now)
}

// MarkPurged records that obj's blocks are gone, at now.
func (s *State) MarkPurged(ctx context.Context, obj string, now time.Time) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	s.set.MarkPurged(obj)
	s.mu.Unlock()
	return s.persist(ctx, purgedKey(obj), now)
}

// Compact shrinks tombstones older than the retention and records now as
// the last time this node was online (see MustResync).
func (s *State) Compact(ctx context.Context, now time.Time) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	s.set.Compact(now)
	s.mu.Unlock()
	return s.persist(ctx, lastOnlineKey, now)
}

// Takedowns lists the objects a takedown currently deletes.
func (s *State) Takedowns() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var objs []string
	for _, t := range s.set.Tombstones() {
		if t.Kind == tombstone.KindTakedown && t.Deleted {
			objs = append(objs, t.Object)
		}
	}
	return objs
}

// Deleted returns the indexes of the objects of ids that are deleted, in
// one hold of the lock: callers bound len(ids) to bound the hold.
func (s *State) Deleted(ids []string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set.Len() == 0 {
		return nil
	}
	var out []int
	for i, id := range ids {
		if s.set.IsDeleted(id) {
			out = append(out, i)
		}
	}
	return out
}

// lookedUp is what State.keys answered for the call in progress.
type lookedUp struct {
	object           string
	owner, authority ed25519.PublicKey
	holder           string
	holderKey        ed25519.PublicKey
}

// lookedKeys answers the set's tombstone.Keys questions from State.looked,
// which the caller of the set filled before taking the lock; the set only
// asks under the lock.
type lookedKeys struct{ s *State }

var _ tombstone.Keys = lookedKeys{}

func (k lookedKeys) ObjectOwner(object string) ed25519.PublicKey {
	if object != k.s.looked.object {
		return nil
	}
	return k.s.looked.owner
}

func (k lookedKeys) Authority() ed25519.PublicKey { return k.s.looked.authority }

func (k lookedKeys) HolderKey(holder string) ed25519.PublicKey {
	if holder != k.s.looked.holder {
		return nil
	}
	return k.s.looked.holderKey
}
