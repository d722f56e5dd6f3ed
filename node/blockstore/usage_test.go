package blockstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/multiformats/go-multihash"
)

// assertUsageMatchesFiles checks the running count against a walk of every
// block file.
func assertUsageMatchesFiles(t *testing.T, s *Store) {
	t.Helper()
	var want Usage
	err := s.walk(context.Background(), func(_ multihash.Multihash, e fs.DirEntry) error {
		info, err := e.Info()
		if err != nil {
			return err
		}
		want.Blocks++
		want.Bytes += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if got.Blocks != want.Blocks || got.Bytes != want.Bytes {
		t.Errorf("Usage counts %d blocks, %d bytes; the files are %d blocks, %d bytes", got.Blocks, got.Bytes, want.Blocks, want.Bytes)
	}
	if got.FreeBytes == 0 || got.SizeBytes < got.FreeBytes {
		t.Errorf("Usage free %d of %d bytes; want 0 < free <= size", got.FreeBytes, got.SizeBytes)
	}
}

// withoutNoReplace makes s publish as on a filesystem that cannot refuse
// to replace a name.
func withoutNoReplace(s *Store) {
	s.renameNew = func(from, _ string) error {
		return fmt.Errorf("rename %s: %w", from, errors.ErrUnsupported)
	}
}

// TestUsageFollowsEveryWritePath runs each way a block's name is made or
// removed, once with renameat2 and once without, and checks the running
// count against the files after each step and after a reopen.
func TestUsageFollowsEveryWritePath(t *testing.T) {
	for _, noReplace := range []bool{true, false} {
		t.Run(fmt.Sprintf("renameat2=%v", noReplace), func(t *testing.T) {
			ctx := testContext(t)
			dir := t.TempDir()
			s := openTestStore(t, dir)
			if !noReplace {
				withoutNoReplace(s)
			}
			bl := testBlocks(t, 12, 1000)
			steps := []struct {
				name string
				do   func() error
			}{
				{"put", func() error { return s.Put(ctx, bl[0]) }},
				{"put again", func() error { return s.Put(ctx, bl[0]) }},
				{"put many, some stored", func() error { return s.PutMany(ctx, bl[:4]) }},
				{"batch with duplicates", func() error {
					batch := s.NewBatch()
					if err := putAll(ctx, batch, append(bl[2:6], bl[4:8]...)); err != nil {
						return err
					}
					return batch.Commit(ctx)
				}},
				{"batch discarded", func() error {
					batch := s.NewBatch()
					if err := putAll(ctx, batch, bl[8:10]); err != nil {
						return err
					}
					batch.Discard()
					return nil
				}},
				{"delete", func() error { return s.DeleteBlock(ctx, bl[1].Cid()) }},
				{"delete missing", func() error { return s.DeleteBlock(ctx, bl[1].Cid()) }},
				{"quarantine", func() error {
					path := s.blockPath(keyOf(bl[2].Cid().Hash()))
					data, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					data[0] ^= 1 // same size: see Store.Usage
					if err := os.WriteFile(path, data, 0o600); err != nil {
						return err
					}
					if _, err := s.Get(ctx, bl[2].Cid()); !errors.Is(err, ErrCorruptBlock) {
						return fmt.Errorf("Get of a damaged block = %v; want ErrCorruptBlock", err)
					}
					return nil
				}},
				{"put after quarantine", func() error { return s.Put(ctx, bl[2]) }},
			}
			for _, st := range steps {
				if err := st.do(); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				assertUsageMatchesFiles(t, s)
			}
			if err := os.WriteFile(filepath.Join(filepath.Dir(s.blockPath(keyOf(bl[0].Cid().Hash()))), tempPrefix+"1"), []byte("half"), 0o600); err != nil {
				t.Fatal(err)
			}
			s = openTestStore(t, dir)
			assertUsageMatchesFiles(t, s)
			if u, _ := s.Usage(); u.Blocks != 7 {
				t.Errorf("after reopening, Usage counts %d blocks; want 7 (0 and 2 to 7)", u.Blocks)
			}
		})
	}
}

// TestUsageUnderRacingWriters has writers publish and delete the same
// blocks at once: each name made or removed is counted exactly once. That
// takes a filesystem that can refuse to replace a name (renameat2 with
// RENAME_NOREPLACE); without it the count may be a block off per race, as
// Store.Usage says.
func TestUsageUnderRacingWriters(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	if reason := noReplaceMissing(t, dir); reason != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot run under CI=true: %s", reason)
		}
		t.Skipf("skipping an exact count under racing writers: %s", reason)
	}
	s := openTestStore(t, dir)
	bl := testBlocks(t, 30, 500)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for round := range 5 {
				var err error
				if w%2 == 0 {
					err = s.PutMany(ctx, bl)
				} else {
					for _, b := range bl {
						if err = s.Put(ctx, b); err != nil {
							break
						}
					}
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if round%2 == 1 {
					for _, b := range bl[w:] {
						if err := s.DeleteBlock(ctx, b.Cid()); err != nil {
							t.Errorf("writer %d: delete: %v", w, err)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	assertUsageMatchesFiles(t, s)
}

// noReplaceMissing says why renameNoReplace cannot work in dir, if it
// cannot.
func noReplaceMissing(t *testing.T, dir string) string {
	t.Helper()
	from, to := filepath.Join(dir, "probe-from"), filepath.Join(dir, "probe-to")
	for _, p := range []string{from, to} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	defer os.Remove(from)
	defer os.Remove(to)
	err := renameNoReplace(from, to)
	switch {
	case errors.Is(err, fs.ErrExist):
		return ""
	case errors.Is(err, errors.ErrUnsupported):
		return "the filesystem of " + dir + " lacks renameat2 with RENAME_NOREPLACE"
	}
	t.Fatalf("renameNoReplace onto an existing name = %v; want an error wrapping fs.ErrExist", err)
	return ""
}

// TestSavedUsage: Open takes the count Close saved, removes it so that a
// crash cannot leave it behind, and counts every block again when the
// count is missing, unreadable or disagrees with the block files.
func TestSavedUsage(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	saved := filepath.Join(dir, usageName)
	s := openTestStore(t, dir)
	bl := testBlocks(t, 10, 700)
	if err := s.PutMany(ctx, bl); err != nil {
		t.Fatal(err)
	}
	closeStore := func(s *Store) Usage {
		t.Helper()
		u, err := s.Usage()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return u
	}
	want := closeStore(s)

	s = openTestStore(t, dir)
	if _, err := os.Stat(saved); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after Open, the saved count is still there (%v): a crash would leave it stale", err)
	}
	assertUsageMatchesFiles(t, s)

	// Trusted when the number of block files agrees: the bytes are the
	// ones saved, not stat'ed.
	closeStore(s)
	if err := os.WriteFile(saved, fmt.Appendf(nil, "%s%d %d\n", usagePrefix, want.Blocks, want.Bytes+7), 0o600); err != nil {
		t.Fatal(err)
	}
	if u, _ := openTestStore(t, dir).Usage(); u.Blocks != want.Blocks || u.Bytes != want.Bytes+7 {
		t.Fatalf("Open with a saved count of %d blocks, %d bytes reports %d, %d", want.Blocks, want.Bytes+7, u.Blocks, u.Bytes)
	}

	// What Close saved is read only when it is exactly what Close
	// writes; the count of blocks in each is the true one, so that only
	// the parsing stands between the wrong bytes and Usage.
	write := func(text string) func() error {
		return func() error { return os.WriteFile(saved, []byte(text), 0o600) }
	}
	blocks := want.Blocks
	for name, damage := range map[string]func() error{
		"a block file removed while closed": func() error { return os.Remove(s.blockPath(keyOf(bl[3].Cid().Hash()))) },
		"bytes that are no number":          write(fmt.Sprintf("%s%d many\n", usagePrefix, blocks)),
		"negative bytes":                    write(fmt.Sprintf("%s%d -5\n", usagePrefix, blocks)),
		"another version":                   write(fmt.Sprintf("cairn-blockstore-usage/2 %d 99999\n", blocks)),
		"no prefix":                         write(fmt.Sprintf("%d 99999\n", blocks)),
		"more after the bytes":              write(fmt.Sprintf("%s%d 99999 5\n", usagePrefix, blocks)),
		"no newline":                        write(fmt.Sprintf("%s%d 99999", usagePrefix, blocks)),
		"no count (a crash)":                func() error { return os.Remove(saved) },
	} {
		closeStore(openTestStore(t, dir))
		if err := damage(); err != nil {
			t.Fatal(err)
		}
		s := openTestStore(t, dir)
		t.Run(name, func(t *testing.T) { assertUsageMatchesFiles(t, s) })
	}
}

// TestUsageChangedAfterClose: a block stored and another removed after
// Close (a request that outlived the daemon's shutdown) leave as many
// block files as Close saved, with other bytes; the saved count is removed
// with the first change, and the next Open counts every block.
func TestUsageChangedAfterClose(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	s := openTestStore(t, dir)
	bl := testBlocks(t, 6, 500)
	if err := s.PutMany(ctx, bl[:5]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, randomBlock(t, 2000, 77)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, usageName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a block stored after Close left the saved count in place (%v)", err)
	}
	if err := s.DeleteBlock(ctx, bl[0].Cid()); err != nil {
		t.Fatal(err)
	}
	assertUsageMatchesFiles(t, openTestStore(t, dir))
}
