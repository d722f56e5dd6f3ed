package replicas

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/cairn-fed/cairn/replication"
)

func signed(t *testing.T, key ed25519.PrivateKey, obj string, seq uint64) replication.Attestation {
	t.Helper()
	a := replication.Attestation{Object: replication.ObjectID(obj), Holder: "h", Seq: seq, Held: true, Target: 3, Leaves: 1}
	a.Sign(key)
	return a
}

// TestLedgerKeepsLatestPerRecord: a stored attestation replaces the one of
// the same holder and object; an undecodable entry is counted, not fatal.
func TestLedgerKeepsLatestPerRecord(t *testing.T) {
	ctx := context.Background()
	_, key, _ := ed25519.GenerateKey(nil)
	ds := dssync.MutexWrap(datastore.NewMapDatastore())
	l := NewLedger(ds)
	for _, a := range []replication.Attestation{signed(t, key, "x", 1), signed(t, key, "x", 2), signed(t, key, "y", 1)} {
		if err := l.Store(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := ds.Put(ctx, datastore.NewKey(ledgerPrefix+"z/h"), []byte("not an attestation")); err != nil {
		t.Fatal(err)
	}
	got := map[replication.ObjectID]uint64{}
	bad, err := l.Each(ctx, func(a replication.Attestation) { got[a.Object] = a.Seq })
	if err != nil {
		t.Fatal(err)
	}
	if bad != 1 {
		t.Errorf("%d undecodable entries, want 1", bad)
	}
	if len(got) != 2 || got["x"] != 2 || got["y"] != 1 {
		t.Errorf("restored %v, want x at seq 2 and y at seq 1", got)
	}
}

type failingPut struct{ datastore.Datastore }

func (failingPut) Put(context.Context, datastore.Key, []byte) error { return errors.New("disk full") }

// TestLedgerStoreReportsFailure: a write that fails reaches the caller,
// which must not deliver what it could not record.
func TestLedgerStoreReportsFailure(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	l := NewLedger(failingPut{datastore.NewMapDatastore()})
	if err := l.Store(context.Background(), signed(t, key, "x", 1)); err == nil {
		t.Fatal("a failed write was reported as stored")
	}
}
