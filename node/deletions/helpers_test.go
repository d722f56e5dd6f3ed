package deletions

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/tombstone"
)

// epoch is the fake clock's origin; tests add durations to it.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func keyFor(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("deletions test key " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

var ownerKey, holderKey = keyFor("owner"), keyFor("holder")

const (
	objA, objB = "bafyobjecta", "bafyobjectb"
	holder     = "12D3KooWholder"
)

func testKeys() *tombstone.MapKeys {
	pub := func(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
	return &tombstone.MapKeys{
		Owners:  map[string]ed25519.PublicKey{objA: pub(ownerKey), objB: pub(ownerKey)},
		Holders: map[string]ed25519.PublicKey{holder: pub(holderKey)},
	}
}

func testConfig() tombstone.Config {
	c := tombstone.DefaultConfig()
	c.TrashWindow = 10 * time.Second
	c.Retention = time.Hour
	c.AckTimeout = time.Minute
	return c
}

func newTestState(t *testing.T, ds datastore.Datastore) *State {
	t.Helper()
	s, err := New(testConfig(), testKeys(), ds, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func memStore() datastore.Batching { return dssync.MutexWrap(datastore.NewMapDatastore()) }

// ownerTomb is obj's owner tombstone of version v, signed at at.
func ownerTomb(t *testing.T, obj string, v uint64, deleted bool, at time.Time) tombstone.Tombstone {
	t.Helper()
	tb := tombstone.Tombstone{Object: obj, Version: v, Deleted: deleted, Kind: tombstone.KindOwner, IssuedAt: at}
	if err := tb.Sign(ownerKey); err != nil {
		t.Fatal(err)
	}
	return tb
}

// apply applies tb and fails the test unless it changed the set.
func apply(t *testing.T, s *State, tb tombstone.Tombstone, now time.Time) {
	t.Helper()
	if _, _, changed, err := s.Apply(context.Background(), tb, "", now); !changed || err != nil {
		t.Fatalf("apply %s v%d: changed %v, err %v", tb.Object, tb.Version, changed, err)
	}
}

// blockCID is a distinct block for label.
func blockCID(t *testing.T, label string) cid.Cid {
	t.Helper()
	h, err := multihash.Sum([]byte(label), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.DagProtobuf, h)
}

var errDiskFull = errors.New("test: disk full")

// flakyStore fails every Put while failing is set.
type flakyStore struct {
	datastore.Datastore
	failing atomic.Bool
}

func (f *flakyStore) Put(ctx context.Context, k datastore.Key, v []byte) error {
	if f.failing.Load() {
		return errDiskFull
	}
	return f.Datastore.Put(ctx, k, v)
}
