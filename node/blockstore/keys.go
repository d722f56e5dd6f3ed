package blockstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// readDirChunk bounds how many directory entries a walk holds at once.
const readDirChunk = 256

// AllKeysChan lists every stored block as a CIDv1 with the raw codec (the
// store keeps multihashes, not codecs). The channel closes early if ctx
// ends or a directory cannot be read; AllKeysChanWithErr tells which.
func (s *Store) AllKeysChan(ctx context.Context) (<-chan cid.Cid, error) {
	ch, _, err := s.AllKeysChanWithErr(ctx)
	return ch, err
}

// AllKeysChanWithErr is AllKeysChan plus a function that, once the channel
// is drained, returns the error that ended the listing early, if any.
func (s *Store) AllKeysChanWithErr(ctx context.Context) (<-chan cid.Cid, func() error, error) {
	out := make(chan cid.Cid, readDirChunk)
	done := make(chan struct{})
	var walkErr error
	go func() {
		defer close(done)
		defer close(out)
		walkErr = s.walk(ctx, func(h multihash.Multihash, _ fs.DirEntry) error {
			select {
			case out <- cid.NewCidV1(cid.Raw, h):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return out, func() error { <-done; return walkErr }, nil
}

// walk calls fn for every block file, shard by shard, skipping temporary
// files and names that are not blocks.
func (s *Store) walk(ctx context.Context, fn func(multihash.Multihash, fs.DirEntry) error) error {
	for _, shard := range allShards() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := walkShard(s.dir, shard, fn); err != nil {
			return fmt.Errorf("list blocks in %s: %w", shard, err)
		}
	}
	return nil
}

// walkShard calls fn for every block file in one shard directory.
func walkShard(root, shard string, fn func(multihash.Multihash, fs.DirEntry) error) error {
	return eachEntry(filepath.Join(root, shard), func(e fs.DirEntry) error {
		h, ok := multihashFromFileName(shard, e.Name())
		if !ok || !e.Type().IsRegular() {
			return nil
		}
		return fn(h, e)
	})
}

// eachEntry calls fn for every entry of dir, reading it in chunks, so a
// huge shard does not need memory in proportion to its size. A missing
// dir has no entries.
func eachEntry(dir string, fn func(fs.DirEntry) error) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		entries, err := d.ReadDir(readDirChunk)
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
