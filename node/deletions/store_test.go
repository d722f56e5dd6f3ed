package deletions

import (
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"

	"github.com/cairn-fed/cairn/tombstone"
)

// TestFailedWriteIsKeptAndRetried: a tombstone whose write fails still
// holds, the caller hears of the failure, and RetryUnsaved writes it once
// the store works again, so a restart finds it.
func TestFailedWriteIsKeptAndRetried(t *testing.T) {
	ctx := context.Background()
	ds := &flakyStore{Datastore: memStore()}
	s := newTestState(t, ds)
	ds.failing.Store(true)
	tb := ownerTomb(t, objA, 1, true, epoch)
	was, now, changed, err := s.Apply(ctx, tb, "", epoch)
	if !changed || was || !now {
		t.Fatalf("Apply: was %v, now %v, changed %v; want false, true, true", was, now, changed)
	}
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Apply with a failing store: err %v, want %v", err, errDiskFull)
	}
	if !s.IsDeleted(objA) {
		t.Fatal("a tombstone whose write failed does not hold")
	}
	if left := s.RetryUnsaved(ctx); left != 1 {
		t.Fatalf("retry while the store fails: %d unsaved, want 1", left)
	}
	ds.failing.Store(false)
	if left := s.RetryUnsaved(ctx); left != 0 {
		t.Fatalf("retry once the store works: %d unsaved, want 0", left)
	}
	if len(s.unsaved) != 0 {
		t.Fatalf("written state still listed as unsaved: %v", s.unsaved)
	}
	restarted := newTestState(t, ds)
	deleted, err := restarted.Restore(ctx, epoch)
	if err != nil || !slices.Equal(deleted, []string{objA}) {
		t.Fatalf("after a restart: deleted %v (%v), want [%s]", deleted, err, objA)
	}
}

// TestNewerWriteWinsOverKeptOne: a value kept after a failed write must not
// overwrite a newer one written for the same key since.
func TestNewerWriteWinsOverKeptOne(t *testing.T) {
	ctx := context.Background()
	ds := &flakyStore{Datastore: memStore()}
	s := newTestState(t, ds)
	ds.failing.Store(true)
	if _, _, changed, err := s.Apply(ctx, ownerTomb(t, objA, 1, true, epoch), "", epoch); !changed || err == nil {
		t.Fatalf("Apply with a failing store: changed %v, err %v; want true and an error", changed, err)
	}
	ds.failing.Store(false)
	apply(t, s, ownerTomb(t, objA, 2, false, epoch.Add(time.Second)), epoch.Add(time.Second))
	s.RetryUnsaved(ctx)
	restarted := newTestState(t, ds)
	if _, err := restarted.Restore(ctx, epoch.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := restarted.Entry(objA).Owner; got.Version != 2 || got.Deleted {
		t.Fatalf("after a restart the owner lane is v%d deleted=%v, want v2 undeleted", got.Version, got.Deleted)
	}
}

// TestRestoreRoundTrip: tombstones, acknowledgements, holders at deletion
// and purge marks come back after a restart.
func TestRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	ds := memStore()
	s := newTestState(t, ds)
	apply(t, s, ownerTomb(t, objA, 1, true, epoch), epoch)
	apply(t, s, ownerTomb(t, objB, 1, true, epoch), epoch)
	if err := s.Applied(ctx, objA, []string{holder}); err != nil {
		t.Fatal(err)
	}
	ack := tombstone.Ack{Object: objA, Kind: tombstone.KindOwner, Version: 1, Holder: holder, Phase: tombstone.PhaseApplied, At: epoch}
	if err := ack.Sign(holderKey); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.ApplyAck(ctx, ack, epoch); !changed || err != nil {
		t.Fatalf("ApplyAck: changed %v, err %v", changed, err)
	}
	purgedAt := epoch.Add(time.Minute)
	if err := s.MarkPurged(ctx, objB, purgedAt); err != nil {
		t.Fatal(err)
	}

	r := newTestState(t, ds)
	deleted, err := r.Restore(ctx, purgedAt)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(deleted)
	tests := []struct {
		name      string
		got, want any
	}{
		{"deleted objects", deleted, []string{objA, objB}},
		{"owner lane of a", r.Entry(objA).Owner.Version, uint64(1)},
		{"holders at deletion of a", r.holders[objA], []string{holder}},
		{"acknowledgements of a", len(r.set.Acks(objA)), 1},
		{"a purged", r.Entry(objA).Purged, false},
		{"b purged", r.Entry(objB).Purged, true},
		{"progress of a", r.Progress(objA, purgedAt, noneSeen).DeletedOn, 1},
	}
	for _, tt := range tests {
		if !equal(tt.got, tt.want) {
			t.Errorf("%s after a restart: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func noneSeen(string) (time.Time, bool) { return time.Time{}, false }

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs)
	}
	return a == b
}

// TestMustResync: a node away longer than the retention resynchronises
// before serving; a new node, or one just online, does not.
func TestMustResync(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		online  bool // whether Compact recorded epoch as last online
		now     time.Time
		wantRes bool
	}{
		{"new node", false, epoch, false},
		{"back within the retention", true, epoch.Add(30 * time.Minute), false},
		{"away longer than the retention", true, epoch.Add(2 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestState(t, memStore())
			if tt.online {
				if err := s.Compact(ctx, epoch); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.MustResync(ctx, tt.now); got != tt.wantRes {
				t.Errorf("MustResync = %v, want %v", got, tt.wantRes)
			}
		})
	}
}

// lockProbe is a tombstone.Keys that fails the test when asked while the
// state's lock is held: the node's keys lock the replication core.
type lockProbe struct {
	*tombstone.MapKeys
	t     *testing.T
	state **State
}

func (k lockProbe) check() {
	if !(*k.state).mu.TryLock() {
		k.t.Error("keys asked with the deletion state's lock held")
		return
	}
	(*k.state).mu.Unlock()
}

func (k lockProbe) ObjectOwner(obj string) ed25519.PublicKey {
	k.check()
	return k.MapKeys.ObjectOwner(obj)
}
func (k lockProbe) Authority() ed25519.PublicKey         { k.check(); return k.MapKeys.Authority() }
func (k lockProbe) HolderKey(h string) ed25519.PublicKey { k.check(); return k.MapKeys.HolderKey(h) }

// TestKeysAskedWithoutTheLock: Apply, ApplyAck and Restore ask the keys
// before taking the lock.
func TestKeysAskedWithoutTheLock(t *testing.T) {
	ctx := context.Background()
	ds := memStore()
	var s *State
	s, err := New(testConfig(), lockProbe{testKeys(), t, &s}, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, ownerTomb(t, objA, 1, true, epoch), epoch)
	ack := tombstone.Ack{Object: objA, Kind: tombstone.KindOwner, Version: 1, Holder: holder, Phase: tombstone.PhaseApplied, At: epoch}
	if err := ack.Sign(holderKey); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.ApplyAck(ctx, ack, epoch); !changed || err != nil {
		t.Fatalf("ApplyAck: changed %v, err %v", changed, err)
	}
	var r *State
	r, err = New(testConfig(), lockProbe{testKeys(), t, &r}, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if deleted, err := r.Restore(ctx, epoch); err != nil || len(deleted) != 1 || len(r.set.Acks(objA)) != 1 {
		t.Fatalf("Restore: deleted %v, acks %d, err %v", deleted, len(r.set.Acks(objA)), err)
	}
}

// pausingStore holds the next Put once armed, until released.
type pausingStore struct {
	flakyStore
	armed    atomic.Bool
	paused   chan struct{} // closed when a Put is held
	released chan struct{} // closed to let it go
}

func (p *pausingStore) Put(ctx context.Context, k datastore.Key, v []byte) error {
	if p.armed.CompareAndSwap(true, false) {
		close(p.paused)
		<-p.released
	}
	return p.flakyStore.Put(ctx, k, v)
}

// TestWritesLandInDecisionOrder: while a retry of a kept older tombstone
// is on its way to the disk, a newer tombstone of the same object is
// written after it, never before: the disk ends with the newer one.
func TestWritesLandInDecisionOrder(t *testing.T) {
	ctx := context.Background()
	ds := &pausingStore{flakyStore: flakyStore{Datastore: memStore()}, paused: make(chan struct{}), released: make(chan struct{})}
	s := newTestState(t, ds)
	ds.failing.Store(true)
	if _, _, changed, err := s.Apply(ctx, ownerTomb(t, objA, 1, true, epoch), "", epoch); !changed || err == nil {
		t.Fatalf("Apply with a failing store: changed %v, err %v; want true and an error", changed, err)
	}
	ds.failing.Store(false)
	ds.armed.Store(true)
	retried := make(chan int)
	go func() { retried <- s.RetryUnsaved(ctx) }()
	<-ds.paused // the retry's write of v1 is under way
	applied := make(chan error)
	go func() {
		_, _, _, err := s.Apply(ctx, ownerTomb(t, objA, 2, false, epoch.Add(time.Second)), "", epoch.Add(time.Second))
		applied <- err
	}()
	select {
	case err := <-applied:
		// Only possible when writes are not ordered: v2 reached the disk
		// while v1's retry was still on its way, and v1 lands on top.
		close(ds.released)
		<-retried
		t.Fatalf("a newer tombstone was written while an older write was under way (err %v)", err)
	case <-time.After(200 * time.Millisecond): // the ordered case: Apply waits for the retry
	}
	close(ds.released)
	if left := <-retried; left != 0 {
		t.Fatalf("retry left %d unsaved", left)
	}
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
	restarted := newTestState(t, ds)
	if _, err := restarted.Restore(ctx, epoch.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := restarted.Entry(objA).Owner; got.Version != 2 || got.Deleted {
		t.Fatalf("after a restart the owner lane is v%d deleted=%v, want v2 undeleted", got.Version, got.Deleted)
	}
}

// TestFailedForgetIsRetried: the holders at deletion of an undeleted
// object are deleted from the disk again when the first delete failed, so
// a restart does not bring the stale list back.
func TestFailedForgetIsRetried(t *testing.T) {
	ctx := context.Background()
	ds := &failingDelete{Datastore: memStore()}
	s := newTestState(t, ds)
	apply(t, s, ownerTomb(t, objA, 1, true, epoch), epoch)
	if err := s.Applied(ctx, objA, []string{holder}); err != nil {
		t.Fatal(err)
	}
	apply(t, s, ownerTomb(t, objA, 2, false, epoch.Add(time.Second)), epoch.Add(time.Second))
	ds.failing.Store(true)
	if err := s.Lifted(ctx, objA); err == nil {
		t.Fatal("Lifted with a failing store reported success")
	}
	ds.failing.Store(false)
	if left := s.RetryUnsaved(ctx); left != 0 {
		t.Fatalf("retry left %d unsaved", left)
	}
	if _, err := ds.Get(ctx, holdersKey(objA)); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("holders at deletion of an undeleted object still stored (%v)", err)
	}
}

type failingDelete struct {
	datastore.Datastore
	failing atomic.Bool
}

func (f *failingDelete) Delete(ctx context.Context, k datastore.Key) error {
	if f.failing.Load() {
		return errDiskFull
	}
	return f.Datastore.Delete(ctx, k)
}
