package blockstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Usage is a snapshot of the store's size, for health reporting.
type Usage struct {
	Blocks    int64  // block files stored
	Bytes     int64  // sum of their sizes
	FreeBytes uint64 // free space on the filesystem, for unprivileged users
	SizeBytes uint64 // total size of the filesystem
}

// usageCount is the running count of stored blocks: found by Open's scan,
// then kept by every write path that makes or removes a block's name
// (publish, DeleteBlock, quarantine). The two counters are updated one
// after the other, so a reader may see a block counted without its bytes
// for a moment. changes moves last, once both have.
type usageCount struct {
	blocks  atomic.Int64
	bytes   atomic.Int64
	changes atomic.Uint64 // every add and remove: Close tells a count that moved while it saved
}

func (c *usageCount) add(size int64) {
	c.blocks.Add(1)
	c.bytes.Add(size)
	c.changes.Add(1)
}

func (c *usageCount) remove(size int64) {
	c.blocks.Add(-1)
	c.bytes.Add(-size)
	c.changes.Add(1)
}

// countAdded and countRemoved record that a write path made or removed
// the name of a block of size bytes. A change after Close makes the saved
// count stale, so it is removed.
func (s *Store) countAdded(size int64) {
	s.count.add(size)
	s.dropSavedUsageIfClosed()
}

func (s *Store) countRemoved(size int64) {
	s.count.remove(size)
	s.dropSavedUsageIfClosed()
}

func (s *Store) dropSavedUsageIfClosed() {
	if s.closed.Load() {
		s.dropSavedUsage()
	}
}

// Usage returns the stored blocks and their bytes from the running count,
// without walking the store, and asks the filesystem for its free space.
// Blocks removed or resized by something other than the store (someone
// editing files behind the daemon's back) skew the count until an Open
// finds another number of block files than Close saved, or follows a
// crash; a damaged block that Get quarantines is taken off at its size on
// disk.
func (s *Store) Usage() (Usage, error) {
	u := Usage{Blocks: s.count.blocks.Load(), Bytes: s.count.bytes.Load()}
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		return Usage{}, fmt.Errorf("block store usage: statfs %s: %w", s.dir, err)
	}
	u.FreeBytes = st.Bavail * uint64(st.Bsize)
	u.SizeBytes = st.Blocks * uint64(st.Bsize)
	return u, nil
}

// usageName is the file Close saves the running count in, so that the
// next Open need not stat every block file. Open removes it before the
// store can change: a count a crash leaves behind is never read.
const usageName = "USAGE"

// usagePrefix starts the saved count: "cairn-blockstore-usage/1 BLOCKS BYTES".
const usagePrefix = "cairn-blockstore-usage/1 "

// Close saves the running count for the next Open, which then reads each
// directory but stats no block file. Call it once nothing writes to the
// store any more: a block stored or removed after it (a request that
// outlived the daemon's shutdown) removes the saved count again. A store
// never closed (a crash, a kill) is counted again, with a stat of every
// block, by the next Open; so is one whose saved count of blocks differs
// from the block files Open finds.
func (s *Store) Close() error {
	s.closed.Store(true)
	before := s.count.changes.Load()
	data := fmt.Appendf(nil, "%s%d %d\n", usagePrefix, s.count.blocks.Load(), s.count.bytes.Load())
	if err := s.writeFileAtomic(s.dir, usageName, data); err != nil {
		return fmt.Errorf("close block store %s: save its usage: %w", s.dir, err)
	}
	if s.count.changes.Load() != before { // a write path counted while it was saved
		s.dropSavedUsage()
	}
	return nil
}

// dropSavedUsage removes the count Close saved, durably, when the store
// changed after it.
func (s *Store) dropSavedUsage() {
	err := os.Remove(filepath.Join(s.dir, usageName))
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.logger.Warn("the block store changed after it was closed, and its saved usage could not be removed; the next start may report a wrong usage", "dir", s.dir, "err", err)
	}
}

// savedUsage is the count Close saved, if any.
type savedUsage struct {
	blocks, bytes int64
	ok            bool // a count was saved and reads back
}

// takeSavedUsage reads the count Close saved and removes its file, durably,
// before the store can change. A file that does not parse is logged and
// counts as none; one that cannot be read or removed fails Open.
func (s *Store) takeSavedUsage() (savedUsage, error) {
	path := filepath.Join(s.dir, usageName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return savedUsage{}, nil
	}
	if err != nil {
		return savedUsage{}, fmt.Errorf("read the saved usage: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return savedUsage{}, fmt.Errorf("remove the saved usage: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return savedUsage{}, err
	}
	saved := parseSavedUsage(data)
	if !saved.ok {
		s.logger.Warn("the block store's saved usage is unreadable; counting every block", "file", path)
	}
	return saved, nil
}

// parseSavedUsage reads what Close wrote: usagePrefix, then the blocks and
// the bytes, neither negative, and a newline; nothing else.
func parseSavedUsage(data []byte) savedUsage {
	text, found := strings.CutPrefix(string(data), usagePrefix)
	text, ended := strings.CutSuffix(text, "\n")
	fields := strings.Split(text, " ")
	if !found || !ended || len(fields) != 2 {
		return savedUsage{}
	}
	blocks, errBlocks := strconv.ParseInt(fields[0], 10, 64)
	bytes, errBytes := strconv.ParseInt(fields[1], 10, 64)
	if errBlocks != nil || errBytes != nil || blocks < 0 || bytes < 0 {
		return savedUsage{}
	}
	return savedUsage{blocks: blocks, bytes: bytes, ok: true}
}

// scan reads every directory of the store once, at Open: it deletes the
// temporary files of writes a crash interrupted and counts the blocks.
// With a count saved by Close, it counts the block files by name, and
// stats them for their bytes only if their number is not the one saved.
func (s *Store) scan(saved savedUsage) error {
	removed, err := s.scanDirs(!saved.ok)
	if err != nil {
		return err
	}
	if removed > 0 {
		s.logger.Info("removed temporary files left by an interrupted write", "count", removed, "dir", s.dir)
	}
	if !saved.ok {
		return nil
	}
	if found := s.count.blocks.Load(); found != saved.blocks {
		s.logger.Warn("the block store's saved usage does not match its files; counting every block", "saved_blocks", saved.blocks, "found_blocks", found, "dir", s.dir)
		s.count.blocks.Store(0)
		_, err := s.scanDirs(true)
		return err
	}
	s.count.bytes.Store(saved.bytes)
	return nil
}

// scanDirs runs scanDir over the store's root and every shard.
func (s *Store) scanDirs(stat bool) (removed int, err error) {
	for _, dir := range append([]string{""}, allShards()...) {
		n, err := s.scanDir(dir, stat)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// scanDir deletes the temporary files in the store's root (shard "") or
// in one shard directory, counts the blocks there, and their bytes if stat
// is set, and returns how many files it deleted.
func (s *Store) scanDir(shard string, stat bool) (removed int, err error) {
	dir := filepath.Join(s.dir, shard)
	err = eachEntry(dir, func(e fs.DirEntry) error {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove temporary file: %w", err)
			}
			removed++
			return nil
		}
		if _, ok := multihashFromFileName(shard, e.Name()); !ok || !e.Type().IsRegular() {
			return nil
		}
		if !stat {
			s.count.blocks.Add(1)
			return nil
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since listed
		}
		if err != nil {
			return fmt.Errorf("size of %s: %w", e.Name(), err)
		}
		s.count.add(info.Size())
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("scan %s: %w", dir, err)
	}
	return removed, nil
}
