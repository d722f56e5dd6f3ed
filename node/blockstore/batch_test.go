package blockstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"testing"

	blocks "github.com/ipfs/go-block-format"
)

// syncRecorder replaces Store.syncFS: it counts calls, fails the call
// numbered failAt (from 1; 0 never fails) with ENOSPC, and records how many
// of the watched blocks were published when each call began.
type syncRecorder struct {
	mu        sync.Mutex
	calls     int
	failAt    int
	published []int
}

func recordSyncs(t *testing.T, ctx context.Context, s *Store, watched []blocks.Block, failAt int) *syncRecorder {
	t.Helper()
	r := &syncRecorder{failAt: failAt}
	sync := s.syncFS
	if sync == nil {
		t.Skip("this system has no syncfs")
	}
	s.syncFS = func(root *os.File) error {
		n := 0
		for _, b := range watched {
			if has, _ := s.Has(ctx, b.Cid()); has {
				n++
			}
		}
		r.mu.Lock()
		r.calls++
		call := r.calls
		r.published = append(r.published, n)
		r.mu.Unlock()
		if call == r.failAt {
			return &fs.PathError{Op: "syncfs", Path: root.Name(), Err: syscall.ENOSPC}
		}
		return sync(root)
	}
	return r
}

// flushEvery opens a store whose batches flush every n blocks of size.
func flushEvery(t *testing.T, n, size int) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.FlushBytes = n * size
	return openWithConfig(t, t.TempDir(), cfg)
}

func putAll(ctx context.Context, batch *Batch, bl []blocks.Block) error {
	for _, b := range bl {
		if err := batch.Put(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func testBlocks(t testing.TB, n, size int) []blocks.Block {
	var bl []blocks.Block
	for i := range n {
		bl = append(bl, randomBlock(t, size, uint64(7000+i)))
	}
	return bl
}

func TestBatchFlushesInSegments(t *testing.T) {
	ctx := testContext(t)
	s := flushEvery(t, 3, 4096)
	bl := testBlocks(t, 10, 4096)
	r := recordSyncs(t, ctx, s, bl, 0)
	batch := s.NewBatch()
	if err := putAll(ctx, batch, append(bl, bl[0], bl[9])); err != nil {
		t.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	for _, b := range bl {
		assertStored(t, ctx, s, b)
	}
	// 10 blocks in segments of 3: 4 content syncs, then one for the names.
	if r.calls != 5 {
		t.Errorf("Commit synced %d times; want 5 (4 segments and the names)", r.calls)
	}
	if got := tempFilesIn(t, s.Dir()); len(got) != 0 {
		t.Errorf("temporary files remain: %v", got)
	}
	if len(s.pending) != 0 {
		t.Errorf("%d claims remain after Commit; want 0", len(s.pending))
	}
}

func TestBatchPublishesOnlySyncedContent(t *testing.T) {
	tests := []struct {
		name          string
		failAt        int
		wantPublished int
	}{
		{"first segment's sync fails", 1, 0},
		{"second segment's sync fails", 2, 3},
		{"sync of the names fails", 5, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			s := flushEvery(t, 3, 4096)
			bl := testBlocks(t, 10, 4096)
			r := recordSyncs(t, ctx, s, bl, tt.failAt)
			batch := s.NewBatch()
			err := putAll(ctx, batch, bl)
			if err == nil {
				err = batch.Commit(ctx)
			} else {
				batch.Discard()
			}
			if !errors.Is(err, ErrNoSpace) {
				t.Fatalf("batch with a failing sync = %v; want ErrNoSpace", err)
			}
			published := 0
			for _, b := range bl {
				if has, _ := s.Has(ctx, b.Cid()); has {
					assertStored(t, ctx, s, b)
					published++
				}
			}
			if published != tt.wantPublished {
				t.Errorf("%d blocks published; want %d (only segments whose sync succeeded)", published, tt.wantPublished)
			}
			if r.published[0] != 0 {
				t.Errorf("%d blocks were published before the first sync; want 0", r.published[0])
			}
			if got := tempFilesIn(t, s.Dir()); len(got) != 0 {
				t.Errorf("temporary files remain: %v", got)
			}
		})
	}
}

func TestBatchDiscardAfterFlush(t *testing.T) {
	ctx := testContext(t)
	s := flushEvery(t, 2, 4096)
	bl := testBlocks(t, 7, 4096)
	batch := s.NewBatch()
	if err := putAll(ctx, batch, bl); err != nil {
		t.Fatal(err)
	}
	batch.Discard()
	for _, b := range bl { // published blocks are whole; others absent
		if has, _ := s.Has(ctx, b.Cid()); has {
			assertStored(t, ctx, s, b)
		}
	}
	if got := tempFilesIn(t, s.Dir()); len(got) != 0 {
		t.Errorf("temporary files remain: %v", got)
	}
	if err := s.PutMany(ctx, bl); err != nil {
		t.Fatalf("PutMany after Discard: %v", err)
	}
	for _, b := range bl {
		assertStored(t, ctx, s, b)
	}
}

// TestBatchWithoutSyncfs runs the fallback used where the system has no
// syncfs: one fsync per file and per directory.
func TestBatchWithoutSyncfs(t *testing.T) {
	ctx := testContext(t)
	s := flushEvery(t, 3, 4096)
	s.syncFS = nil
	bl := testBlocks(t, 10, 4096)
	batch := s.NewBatch()
	if err := putAll(ctx, batch, append(bl, bl[3])); err != nil {
		t.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	for _, b := range bl {
		assertStored(t, ctx, s, b)
	}
	if got := tempFilesIn(t, s.Dir()); len(got) != 0 {
		t.Errorf("temporary files remain: %v", got)
	}
}
