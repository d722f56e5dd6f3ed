package blockstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	blocks "github.com/ipfs/go-block-format"
)

// faults replaces Store.createTemp and Store.syncFS: it counts temporary
// files and makes one step of the write path fail with ENOSPC.
type faults struct {
	mu      sync.Mutex
	failAt  string // "create", "write", "sync", "close" or "" for none
	open    int
	maxOpen int
	created int
}

func injectFaults(s *Store) *faults {
	f := &faults{}
	s.createTemp = f.createTemp
	if sync := s.syncFS; sync != nil {
		s.syncFS = func(root *os.File) error {
			if f.failing("sync") {
				return &fs.PathError{Op: "syncfs", Path: root.Name(), Err: syscall.ENOSPC}
			}
			return sync(root)
		}
	}
	return f
}

func (f *faults) set(step string) {
	f.mu.Lock()
	f.failAt = step
	f.mu.Unlock()
}

func (f *faults) failing(step string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failAt == step
}

func (f *faults) createTemp(dir, pattern string) (tempFile, error) {
	if f.failing("create") {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: syscall.ENOSPC}
	}
	file, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.open++
	f.created++
	f.maxOpen = max(f.maxOpen, f.open)
	f.mu.Unlock()
	return &faultyFile{File: file, faults: f}, nil
}

type faultyFile struct {
	*os.File
	faults *faults
	closed bool
}

func (ff *faultyFile) Write(p []byte) (int, error) {
	if ff.faults.failing("write") {
		n, _ := ff.File.Write(p[:len(p)/2]) // a partial write, then a full disk
		return n, &fs.PathError{Op: "write", Path: ff.Name(), Err: syscall.ENOSPC}
	}
	return ff.File.Write(p)
}

func (ff *faultyFile) Sync() error {
	if ff.faults.failing("sync") {
		return &fs.PathError{Op: "sync", Path: ff.Name(), Err: syscall.ENOSPC}
	}
	return ff.File.Sync()
}

func (ff *faultyFile) Close() error {
	if !ff.closed {
		ff.closed = true
		ff.faults.mu.Lock()
		ff.faults.open--
		ff.faults.mu.Unlock()
	}
	err := ff.File.Close()
	if ff.faults.failing("close") {
		return &fs.PathError{Op: "close", Path: ff.Name(), Err: syscall.ENOSPC}
	}
	return err
}

func TestPutReportsFullDisk(t *testing.T) {
	for _, step := range []string{"create", "write", "sync", "close"} {
		for _, api := range []string{"Put", "PutMany", "Batch"} {
			t.Run(step+"/"+api, func(t *testing.T) {
				ctx := testContext(t)
				s := openTestStore(t, t.TempDir())
				f := injectFaults(s)
				before := randomBlock(t, 3000, 1)
				mustPut(t, ctx, s, before)

				f.set(step)
				bl := []blocks.Block{randomBlock(t, 3000, 2), randomBlock(t, 3000, 3)}
				err := putVia(ctx, s, api, bl)
				if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("%s with ENOSPC at %s = %v; want ErrNoSpace wrapping ENOSPC", api, step, err)
				}
				if !strings.Contains(err.Error(), "out of disk space") {
					t.Errorf("error %q does not say the disk is full", err)
				}
				assertConsistentAfterFailure(t, ctx, s, before, bl)

				f.set("") // space freed: the store works again
				if err := putVia(ctx, s, api, bl); err != nil {
					t.Fatalf("%s after space freed: %v", api, err)
				}
				for _, b := range bl {
					assertStored(t, ctx, s, b)
				}
			})
		}
	}
}

func putVia(ctx context.Context, s *Store, api string, bl []blocks.Block) error {
	switch api {
	case "Put":
		for _, b := range bl {
			if err := s.Put(ctx, b); err != nil {
				return err
			}
		}
		return nil
	case "PutMany":
		return s.PutMany(ctx, bl)
	}
	batch := s.NewBatch()
	for _, b := range bl {
		if err := batch.Put(ctx, b); err != nil {
			batch.Discard()
			return err
		}
	}
	return batch.Commit(ctx)
}

// assertConsistentAfterFailure checks a failed write left no temporary file,
// kept the earlier block, and published nothing damaged.
func assertConsistentAfterFailure(t *testing.T, ctx context.Context, s *Store, before blocks.Block, failed []blocks.Block) {
	t.Helper()
	if got := tempFilesIn(t, s.Dir()); len(got) != 0 {
		t.Errorf("temporary files remain after failure: %v", got)
	}
	assertUsageMatchesFiles(t, s)
	assertStored(t, ctx, s, before)
	for _, b := range failed {
		if _, err := s.Get(ctx, b.Cid()); err != nil && !strings.Contains(err.Error(), "not find") {
			t.Errorf("Get(%s) after failed put = %v; want the block or not found", b.Cid(), err)
		}
	}
}

func TestBatchBoundsOpenFiles(t *testing.T) {
	ctx := testContext(t)
	cfg := DefaultConfig()
	cfg.SyncWorkers, cfg.MaxQueuedBlocks = 2, 4
	s := openWithConfig(t, t.TempDir(), cfg)
	f := injectFaults(s)
	batch := s.NewBatch()
	for i := range 300 {
		if err := batch.Put(ctx, randomBlock(t, 512, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// One file per worker.
	if limit := cfg.SyncWorkers; f.maxOpen > limit {
		t.Errorf("batch held %d files open at once; want at most %d", f.maxOpen, limit)
	}
	if f.open != 0 {
		t.Errorf("%d files still open after Commit; want 0", f.open)
	}
}

func TestBatchWritesDuplicatesOnce(t *testing.T) {
	ctx := testContext(t)
	s := openTestStore(t, t.TempDir())
	f := injectFaults(s)
	batch := s.NewBatch()
	b := randomBlock(t, 1000, 1)
	for range 5 {
		if err := batch.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if f.created != 1 {
		t.Errorf("wrote %d files for one block put 5 times; want 1", f.created)
	}
	if err := s.Put(ctx, b); err != nil || f.created != 1 {
		t.Errorf("Put(existing) = %v and wrote %d files; want nil and no new file", err, f.created)
	}
}

func TestBatchEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(*Batch) error
		want error
	}{
		{"discard", func(b *Batch) error { b.Discard(); return nil }, nil},
		{"commit with ctx cancelled", func(b *Batch) error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return b.Commit(ctx)
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			s := openTestStore(t, t.TempDir())
			batch := s.NewBatch()
			for i := range 50 {
				if err := batch.Put(ctx, randomBlock(t, 1000, uint64(i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.end(batch); !errors.Is(err, tt.want) {
				t.Errorf("ending batch = %v; want %v", err, tt.want)
			}
			if got := tempFilesIn(t, s.Dir()); len(got) != 0 {
				t.Errorf("temporary files remain: %v", got)
			}
			if err := batch.Put(ctx, randomBlock(t, 10, 99)); !errors.Is(err, ErrBatchDone) {
				t.Errorf("Put after end = %v; want ErrBatchDone", err)
			}
			if err := batch.Commit(ctx); !errors.Is(err, ErrBatchDone) {
				t.Errorf("Commit after end = %v; want ErrBatchDone", err)
			}
			for i := range 50 { // published blocks are whole; others absent
				if _, err := s.Get(ctx, randomBlock(t, 1000, uint64(i)).Cid()); err != nil && !strings.Contains(err.Error(), "not find") {
					t.Errorf("Get after end: %v", err)
				}
			}
		})
	}
}

// TestPutFullTmpfs fills a real 1 MiB tmpfs. It needs root and a working
// mount; it is skipped without them, except under CI=true.
func TestPutFullTmpfs(t *testing.T) {
	dir := mountTinyTmpfs(t)
	ctx := testContext(t)
	s := openTestStore(t, dir)
	var stored []blocks.Block
	var err error
	for i := range 100 { // 100 * 64 KiB is well over 1 MiB
		b := randomBlock(t, 64<<10, uint64(i))
		if err = s.Put(ctx, b); err != nil {
			break
		}
		stored = append(stored, b)
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("filling the disk ended with %v; want ErrNoSpace", err)
	}
	if got := tempFilesIn(t, dir); len(got) != 0 {
		t.Errorf("temporary files remain: %v", got)
	}
	for _, b := range stored {
		assertStored(t, ctx, s, b)
	}
	if err := s.DeleteBlock(ctx, stored[0].Cid()); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, randomBlock(t, 1000, 1000)); err != nil {
		t.Errorf("Put after freeing space: %v", err)
	}
}

func mountTinyTmpfs(t *testing.T) string {
	t.Helper()
	skip := func(reason string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tmpfs test cannot run under CI=true: %s", reason)
		}
		t.Skipf("skipping the real full-disk test: %s (ENOSPC injection covers the same paths)", reason)
	}
	if os.Geteuid() != 0 {
		skip("not root, cannot mount a tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		skip(fmt.Sprintf("mount tmpfs: %v", err))
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
