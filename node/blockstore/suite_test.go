package blockstore

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	boxobs "github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/multiformats/go-multihash"
)

// testBatch is what the suite needs from a batch. Store has one; other
// blockstores get directBatch, which puts at once.
type testBatch interface {
	Put(ctx context.Context, b blocks.Block) error
	Commit(ctx context.Context) error
	Discard()
}

var _ testBatch = (*Batch)(nil)

type directBatch struct{ bs boxobs.Blockstore }

func (d directBatch) Put(ctx context.Context, b blocks.Block) error { return d.bs.Put(ctx, b) }
func (d directBatch) Commit(context.Context) error                  { return nil }
func (d directBatch) Discard()                                      {}

func newTestBatch(bs boxobs.Blockstore) testBatch {
	if s, ok := bs.(*Store); ok {
		return s.NewBatch()
	}
	return directBatch{bs}
}

// randomBlock returns a raw block of n pseudo-random bytes chosen by seed.
func randomBlock(t testing.TB, n int, seed uint64) blocks.Block {
	t.Helper()
	data := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	_, _ = rng.Read(data)
	return blockWithHash(t, data, cid.Raw, multihash.SHA2_256)
}

func blockWithHash(t testing.TB, data []byte, codec, hash uint64) blocks.Block {
	t.Helper()
	c, err := cid.Prefix{Version: 1, Codec: codec, MhType: hash, MhLength: -1}.Sum(data)
	if err != nil {
		t.Fatalf("cid for %d bytes: %v", len(data), err)
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		t.Fatalf("block: %v", err)
	}
	return b
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testBlockstore is the behaviour every blockstore Cairn serves from must
// have. It runs against Store and against boxo's in-memory blockstore, so a
// check that only Store passes is a check of Store's quirks, not of the
// contract.
func testBlockstore(t *testing.T, open func(t *testing.T) boxobs.Blockstore) {
	tests := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, bs boxobs.Blockstore)
	}{
		{"missing block is not found", testMissing},
		{"put then get returns the same bytes", testPutGet},
		{"get answers with the caller's cid", testGetCallerCid},
		{"other hash functions and sizes", testOtherHashes},
		{"put twice is harmless", testPutTwice},
		{"delete removes the block", testDelete},
		{"put many then list all keys", testPutManyAllKeys},
		{"list stops when ctx ends", testAllKeysCancel},
		{"batch stores every block once committed", testBatchCommit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, testContext(t), open(t))
		})
	}
}

func TestSuiteStore(t *testing.T) {
	testBlockstore(t, func(t *testing.T) boxobs.Blockstore { return openTestStore(t, t.TempDir()) })
}

func TestSuiteBoxoMemory(t *testing.T) {
	testBlockstore(t, func(t *testing.T) boxobs.Blockstore {
		return boxobs.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	})
}

func testMissing(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	c := randomBlock(t, 100, 1).Cid()
	if has, err := bs.Has(ctx, c); has || err != nil {
		t.Errorf("Has(missing) = %v, %v; want false, nil", has, err)
	}
	if _, err := bs.Get(ctx, c); !ipld.IsNotFound(err) {
		t.Errorf("Get(missing) error = %v; want not found", err)
	}
	if size, err := bs.GetSize(ctx, c); size != -1 || !ipld.IsNotFound(err) {
		t.Errorf("GetSize(missing) = %d, %v; want -1, not found", size, err)
	}
	if err := bs.DeleteBlock(ctx, c); err != nil {
		t.Errorf("DeleteBlock(missing) = %v; want nil", err)
	}
}

func testPutGet(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	for _, size := range []int{0, 1, 1000, 256 << 10} {
		b := randomBlock(t, size, uint64(size))
		mustPut(t, ctx, bs, b)
		assertStored(t, ctx, bs, b)
	}
}

func testGetCallerCid(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	b := randomBlock(t, 500, 7)
	mustPut(t, ctx, bs, b)
	asV0 := cid.NewCidV0(b.Cid().Hash())
	asDagCBOR := cid.NewCidV1(cid.DagCBOR, b.Cid().Hash())
	for _, c := range []cid.Cid{asV0, asDagCBOR} {
		got, err := bs.Get(ctx, c)
		if err != nil {
			t.Fatalf("Get(%s): %v", c, err)
		}
		if !got.Cid().Equals(c) {
			t.Errorf("Get(%s).Cid() = %s; want the requested cid", c, got.Cid())
		}
	}
}

func testOtherHashes(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	data := []byte("cairn stores blocks under any supported multihash")
	for _, hash := range []uint64{multihash.SHA2_512, multihash.SHA1, multihash.IDENTITY} {
		b := blockWithHash(t, data, cid.DagCBOR, hash)
		mustPut(t, ctx, bs, b)
		assertStored(t, ctx, bs, b)
	}
}

func testPutTwice(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	b := randomBlock(t, 300, 3)
	mustPut(t, ctx, bs, b)
	mustPut(t, ctx, bs, b)
	assertStored(t, ctx, bs, b)
}

func testDelete(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	keep, gone := randomBlock(t, 300, 4), randomBlock(t, 300, 5)
	mustPut(t, ctx, bs, keep)
	mustPut(t, ctx, bs, gone)
	if err := bs.DeleteBlock(ctx, gone.Cid()); err != nil {
		t.Fatalf("DeleteBlock: %v", err)
	}
	if has, _ := bs.Has(ctx, gone.Cid()); has {
		t.Errorf("Has(deleted) = true; want false")
	}
	if _, err := bs.Get(ctx, gone.Cid()); !ipld.IsNotFound(err) {
		t.Errorf("Get(deleted) error = %v; want not found", err)
	}
	assertStored(t, ctx, bs, keep)
}

func testPutManyAllKeys(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	var want []blocks.Block
	for i := range 40 {
		want = append(want, randomBlock(t, 1000+i, uint64(100+i)))
	}
	if err := bs.PutMany(ctx, want); err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	got := allMultihashes(t, ctx, bs)
	if len(got) != len(want) {
		t.Errorf("AllKeysChan listed %d blocks; want %d", len(got), len(want))
	}
	for _, b := range want {
		if !got[string(b.Cid().Hash())] {
			t.Errorf("AllKeysChan misses %s", b.Cid())
		}
		assertStored(t, ctx, bs, b)
	}
}

func testAllKeysCancel(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	var bl []blocks.Block
	for i := range 20 {
		bl = append(bl, randomBlock(t, 10, uint64(200+i)))
	}
	if err := bs.PutMany(ctx, bl); err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	listCtx, cancel := context.WithCancel(ctx)
	ch, err := bs.AllKeysChan(listCtx)
	if err != nil {
		t.Fatalf("AllKeysChan: %v", err)
	}
	cancel()
	n := 0
	for range ch { // must close, whatever was buffered
		n++
	}
	if n > len(bl) {
		t.Errorf("AllKeysChan after cancel listed %d keys; want at most %d", n, len(bl))
	}
}

func testBatchCommit(t *testing.T, ctx context.Context, bs boxobs.Blockstore) {
	batch := newTestBatch(bs)
	var want []blocks.Block
	for i := range 30 {
		want = append(want, randomBlock(t, 4096, uint64(300+i)))
	}
	want = append(want, want[0], want[1]) // duplicates within the batch
	for _, b := range want {
		if err := batch.Put(ctx, b); err != nil {
			t.Fatalf("batch Put: %v", err)
		}
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	batch.Discard() // after Commit: does nothing
	for _, b := range want {
		assertStored(t, ctx, bs, b)
	}
	if got := len(allMultihashes(t, ctx, bs)); got != 30 {
		t.Errorf("after batch, AllKeysChan lists %d blocks; want 30", got)
	}
}

func mustPut(t *testing.T, ctx context.Context, bs boxobs.Blockstore, b blocks.Block) {
	t.Helper()
	if err := bs.Put(ctx, b); err != nil {
		t.Fatalf("Put(%s): %v", b.Cid(), err)
	}
}

// assertStored checks Has, GetSize and Get agree that b is stored.
func assertStored(t *testing.T, ctx context.Context, bs boxobs.Blockstore, b blocks.Block) {
	t.Helper()
	if has, err := bs.Has(ctx, b.Cid()); !has || err != nil {
		t.Errorf("Has(%s) = %v, %v; want true, nil", b.Cid(), has, err)
	}
	if size, err := bs.GetSize(ctx, b.Cid()); size != len(b.RawData()) || err != nil {
		t.Errorf("GetSize(%s) = %d, %v; want %d, nil", b.Cid(), size, err, len(b.RawData()))
	}
	got, err := bs.Get(ctx, b.Cid())
	if err != nil {
		t.Fatalf("Get(%s): %v", b.Cid(), err)
	}
	if string(got.RawData()) != string(b.RawData()) || !got.Cid().Equals(b.Cid()) {
		t.Errorf("Get(%s) returned other data or cid %s", b.Cid(), got.Cid())
	}
}

// allMultihashes drains AllKeysChan into a set of multihashes, checking
// each key is a CIDv1 raw.
func allMultihashes(t *testing.T, ctx context.Context, bs boxobs.Blockstore) map[string]bool {
	t.Helper()
	ch, err := bs.AllKeysChan(ctx)
	if err != nil {
		t.Fatalf("AllKeysChan: %v", err)
	}
	got := make(map[string]bool)
	for c := range ch {
		if c.Version() != 1 || c.Type() != cid.Raw {
			t.Errorf("AllKeysChan gave %s; want CIDv1 raw", c)
		}
		got[string(c.Hash())] = true
	}
	return got
}
