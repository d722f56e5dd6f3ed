package blockstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// verify hashes data with c's multihash function and compares the digest.
// On a mismatch it quarantines the file and returns ErrCorruptBlock.
// read is the identity of the file data came from.
func (s *Store) verify(c cid.Cid, key string, data []byte, read fs.FileInfo) error {
	prefix := c.Prefix()
	sum, err := multihash.Sum(data, prefix.MhType, prefix.MhLength)
	if err != nil {
		return fmt.Errorf("get %s: hash block: %w", c, err)
	}
	if bytes.Equal(sum, c.Hash()) {
		return nil
	}
	s.quarantine(c, key, read)
	return fmt.Errorf("get %s: %w", c, ErrCorruptBlock)
}

// quarantine moves a corrupt block file out of the shard, so it is never
// served again and Has reports it missing, and logs it. When several
// readers find the same corruption, only the one whose move succeeds logs;
// a good copy published since the read (same name, another file) stays.
func (s *Store) quarantine(c cid.Cid, key string, read fs.FileInfo) {
	if now, err := os.Stat(s.blockPath(key)); err != nil || !os.SameFile(now, read) {
		return
	}
	dir := filepath.Join(s.dir, quarantineDir)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		s.logger.Error("corrupt block on disk, cannot create quarantine", "cid", c, "err", err)
		return
	}
	// A suffix keeps earlier quarantined copies of the same block.
	name := key + "." + strconv.FormatInt(time.Now().UnixNano(), 36) + blockSuffix
	err := os.Rename(s.blockPath(key), filepath.Join(dir, name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Another reader moved it first and logged.
	case err != nil:
		s.logger.Error("corrupt block on disk, cannot quarantine it", "cid", c, "err", err)
	default:
		s.countRemoved(read.Size())
		s.logger.Error("corrupt block on disk moved to quarantine", "cid", c, "path", filepath.Join(dir, name))
	}
}
