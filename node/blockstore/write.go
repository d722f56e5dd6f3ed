package blockstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ipfs/go-cid"
)

// tempFile is the part of *os.File the write path uses. Tests substitute
// files that fail with ENOSPC.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// createTempFunc creates a new temporary file in dir (os.CreateTemp).
type createTempFunc func(dir, pattern string) (tempFile, error)

func createOSTemp(dir, pattern string) (tempFile, error) {
	return os.CreateTemp(dir, pattern)
}

// writeTemp writes data to a new temporary file in key's shard directory.
// It creates the directory if needed and then reports newShard: the
// caller must sync the store's root before reporting the block durable. On
// error nothing is left behind.
func (s *Store) writeTemp(key string, data []byte) (f tempFile, newShard bool, err error) {
	dir := s.shardPath(key)
	f, err = s.createTemp(dir, tempPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		newShard = true
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, false, fmt.Errorf("create shard directory: %w", err)
		}
		f, err = s.createTemp(dir, tempPrefix+"*")
	}
	if err != nil {
		return nil, false, fmt.Errorf("create temporary file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		abandon(f)
		return nil, false, fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return f, newShard, nil
}

// writeUnsynced writes data to a new temporary file in key's shard
// directory, asks the kernel to start writing it back, closes it and
// returns its path. The content is not durable yet: a flush syncs it. On
// error nothing is left behind.
func (s *Store) writeUnsynced(key string, data []byte) (temp string, newShard bool, err error) {
	f, newShard, err := s.writeTemp(key, data)
	if err != nil {
		return "", false, err
	}
	startWriteback(f, len(data))
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return "", false, fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return f.Name(), newShard, nil
}

// publish syncs and closes a written temporary file of size bytes, then
// publishes it under the block's final name. The content is durable before
// the name appears, so a crash can never leave a partial block under a
// final name. On error the temporary file is removed.
func (s *Store) publish(f tempFile, key string, size int) error {
	if err := f.Sync(); err != nil {
		abandon(f)
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return s.publishName(f.Name(), key, size)
}

// publishName renames a durable temporary file of size bytes to the
// block's final name and counts the block, unless another writer published
// the same block first: its file then stays (both hold the same bytes),
// this one is removed and nothing is counted. Where the filesystem cannot
// refuse to replace a name, a block published by two writers at once is
// counted twice. On error the temporary file is removed.
func (s *Store) publishName(temp, key string, size int) error {
	final := s.blockPath(key)
	err := s.renameNew(temp, final)
	if errors.Is(err, errors.ErrUnsupported) {
		existed := s.exists(key)
		if err = os.Rename(temp, final); err == nil && existed {
			return nil
		}
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		_ = os.Remove(temp)
		return nil
	case err != nil:
		_ = os.Remove(temp)
		return fmt.Errorf("publish block: %w", err)
	}
	s.countAdded(int64(size))
	return nil
}

// abandon closes and removes a temporary file after a failure.
func abandon(f tempFile) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// syncShard makes the entries of key's shard directory durable.
func (s *Store) syncShard(key string) error {
	return syncDir(s.shardPath(key))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory to sync: %w", err)
	}
	err = d.Sync()
	closeErr := d.Close()
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	if closeErr != nil {
		return fmt.Errorf("close directory %s: %w", dir, closeErr)
	}
	return nil
}

// writeFileAtomic durably replaces dir/name with data.
func (s *Store) writeFileAtomic(dir, name string, data []byte) error {
	f, err := s.createTemp(dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		abandon(f)
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		abandon(f)
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("rename %s: %w", f.Name(), err)
	}
	return syncDir(dir)
}

// describeWriteError names the operation and block, and marks a full disk
// (or exhausted quota) with ErrNoSpace so callers can tell it apart. A nil
// err stays nil.
func describeWriteError(op string, c cid.Cid, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", op, c, markNoSpace(err))
}

// markNoSpace wraps a full disk (or exhausted quota) error with ErrNoSpace.
func markNoSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}
