package deletions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"

	"github.com/cairn-fed/cairn/tombstone"
)

// Datastore keys of the deletion state.
const (
	tombPrefix    = "/deletion/tombstone/"
	ackPrefix     = "/deletion/ack/"
	holdersPrefix = "/deletion/holders/"
	purgedPrefix  = "/deletion/purged/"
)

var lastOnlineKey = datastore.NewKey("/deletion/last-online")

// TombstoneKey is where t is stored: one key per object and lane.
func TombstoneKey(t tombstone.Tombstone) datastore.Key {
	return datastore.NewKey(fmt.Sprintf("%s%s/%d", tombPrefix, t.Object, t.Kind))
}

// AckKey is where a is stored: one key per object, lane, phase and holder.
func AckKey(a tombstone.Ack) datastore.Key {
	return datastore.NewKey(fmt.Sprintf("%s%s/%d/%d/%s", ackPrefix, a.Object, a.Kind, a.Phase, a.Holder))
}

func holdersKey(obj string) datastore.Key { return datastore.NewKey(holdersPrefix + obj) }

func purgedKey(obj string) datastore.Key { return datastore.NewKey(purgedPrefix + obj) }

// persist writes v (a tombstone, an ack, or JSON) under key; a nil v
// deletes key. A write that fails is kept and tried again by RetryUnsaved
// until it succeeds: deletion state lost at a restart could let a deleted
// object be served again. A write that succeeds drops an older value kept
// for the same key, which would otherwise overwrite it. Callers hold
// writeMu, so writes reach the disk in the order they were decided. The
// error goes to the caller.
func (s *State) persist(ctx context.Context, key datastore.Key, v any) error {
	var data []byte
	if v != nil {
		var err error
		if data, err = encode(v); err != nil {
			return fmt.Errorf("encode deletion state %s: %w", key, err)
		}
	}
	if err := s.write(ctx, key, data); err != nil {
		s.mu.Lock()
		s.unsaved[key] = data
		s.mu.Unlock()
		return fmt.Errorf("persist deletion state %s (kept to try again): %w", key, err)
	}
	s.mu.Lock()
	delete(s.unsaved, key)
	s.mu.Unlock()
	return nil
}

// write puts data under key, or deletes key when data is nil.
func (s *State) write(ctx context.Context, key datastore.Key, data []byte) error {
	if data == nil {
		if err := s.ds.Delete(ctx, key); err != nil && !errors.Is(err, datastore.ErrNotFound) {
			return err
		}
		return nil
	}
	return s.ds.Put(ctx, key, data)
}

func encode(v any) ([]byte, error) {
	switch m := v.(type) {
	case tombstone.Tombstone:
		return m.MarshalBinary()
	case tombstone.Ack:
		return m.MarshalBinary()
	}
	return json.Marshal(v)
}

// RetryUnsaved writes again the deletion state whose first write failed,
// the latest value of each key, and reports how many are still unsaved.
func (s *State) RetryUnsaved(ctx context.Context) int {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	todo := maps.Clone(s.unsaved)
	s.mu.Unlock()
	left := 0
	for key, data := range todo {
		if err := s.write(ctx, key, data); err != nil {
			left++
			continue
		}
		s.mu.Lock()
		delete(s.unsaved, key) // writeMu held: nothing newer was decided meanwhile
		s.mu.Unlock()
	}
	if left > 0 {
		s.logger.Warn("deletion state still not written; trying again", "records", left)
	}
	return left
}

// Restore applies the stored tombstones, acknowledgements, holder lists
// and purge marks, and returns the objects deleted now, for the caller to
// tell the replication core. It runs before any object is tracked, once
// the owner keys can be known. A bad entry is logged and skipped; an
// error means the datastore could not be read.
func (s *State) Restore(ctx context.Context, now time.Time) (deleted []string, err error) {
	steps := []struct {
		prefix string
		apply  func(name string, v []byte) error
	}{
		{tombPrefix, func(_ string, v []byte) error { return s.restoreTombstone(v, now) }},
		{ackPrefix, func(_ string, v []byte) error { return s.restoreAck(v, now) }},
		{holdersPrefix, s.restoreHolders},
		{purgedPrefix, s.restorePurged},
	}
	for _, step := range steps {
		if err := s.eachStored(ctx, step.prefix, step.apply); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.set.Tombstones() {
		if s.set.IsDeleted(t.Object) {
			deleted = append(deleted, t.Object)
		}
	}
	return deleted, nil
}

// restoreTombstone applies a stored tombstone; one whose object's owner is
// not known yet waits, unbounded: this node verified it before storing it.
func (s *State) restoreTombstone(v []byte, now time.Time) error {
	t, err := tombstone.Decode(v)
	if err != nil {
		return err
	}
	looked := lookedUp{object: t.Object, owner: s.keys.ObjectOwner(t.Object), authority: s.keys.Authority()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.looked = looked
	_, err = s.set.Apply(t, now)
	s.looked = lookedUp{}
	if errors.Is(err, tombstone.ErrUnknownObject) {
		s.pending.add(Pending{Tombstone: t}) // own storage: verified before it was stored, never dropped
	}
	return err
}

func (s *State) restoreAck(v []byte, now time.Time) error {
	a, err := tombstone.DecodeAck(v)
	if err != nil {
		return err
	}
	looked := lookedUp{holder: a.Holder, holderKey: s.keys.HolderKey(a.Holder)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.looked = looked
	_, err = s.set.ApplyAck(a, now)
	s.looked = lookedUp{}
	return err
}

func (s *State) restoreHolders(obj string, v []byte) error {
	var hs []string
	if err := json.Unmarshal(v, &hs); err != nil {
		return err
	}
	s.mu.Lock()
	s.holders[obj] = hs
	s.mu.Unlock()
	return nil
}

func (s *State) restorePurged(obj string, _ []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set.MarkPurged(obj)
	return nil
}

// MustResync reports whether the node was offline longer than tombstones
// are kept in full, and so must resynchronise them before serving.
func (s *State) MustResync(ctx context.Context, now time.Time) bool {
	data, err := s.ds.Get(ctx, lastOnlineKey)
	if err != nil {
		return false // a new node has nothing to resynchronise
	}
	var last time.Time
	if json.Unmarshal(data, &last) != nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.MustResync(last, now)
}

// eachStored calls fn with the last key segment and value of every entry
// under prefix; a bad entry is logged and skipped, not fatal.
func (s *State) eachStored(ctx context.Context, prefix string, fn func(name string, v []byte) error) error {
	res, err := s.ds.Query(ctx, query.Query{Prefix: prefix})
	if err != nil {
		return fmt.Errorf("read deletion state %s: %w", prefix, err)
	}
	defer res.Close()
	for e := range res.Next() {
		if e.Error != nil {
			return fmt.Errorf("read deletion state %s: %w", prefix, e.Error)
		}
		if err := fn(strings.TrimPrefix(e.Key, prefix), e.Value); err != nil {
			s.logger.Warn("skipped stored deletion state", "key", e.Key, "err", err)
		}
	}
	return nil
}
