package blockstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
// for a moment.
type usageCount struct {
	blocks atomic.Int64
	bytes  atomic.Int64
}

func (c *usageCount) add(size int64) {
	c.blocks.Add(1)
	c.bytes.Add(size)
}

func (c *usageCount) remove(size int64) {
	c.blocks.Add(-1)
	c.bytes.Add(-size)
}

// Usage returns the stored blocks and their bytes from the running count,
// without walking the store, and asks the filesystem for its free space.
// Blocks removed or resized by something other than the store (someone
// editing files behind the daemon's back) skew the count until the next
// Open; a damaged block that Get quarantines is taken off at its size on
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

// scan reads every directory of the store once, at Open: it deletes the
// temporary files of writes a crash interrupted and counts the blocks.
func (s *Store) scan() error {
	removed := 0
	for _, dir := range append([]string{""}, allShards()...) {
		n, err := s.scanDir(dir)
		removed += n
		if err != nil {
			return err
		}
	}
	if removed > 0 {
		s.logger.Info("removed temporary files left by an interrupted write", "count", removed, "dir", s.dir)
	}
	return nil
}

// scanDir deletes the temporary files in the store's root (shard "") or
// in one shard directory, counts the blocks there and returns how many
// files it deleted.
func (s *Store) scanDir(shard string) (removed int, err error) {
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
