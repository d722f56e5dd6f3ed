package blockstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	boxobs "github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	mhcore "github.com/multiformats/go-multihash/core"
)

var (
	_ boxobs.Blockstore           = (*Store)(nil)
	_ boxobs.AllKeysChanWithErrer = (*Store)(nil)
)

var (
	// ErrCorruptBlock is returned by Get when the bytes on disk do not hash
	// to the requested CID. The file has been moved to quarantine.
	ErrCorruptBlock = errors.New("blockstore: block on disk does not match its cid")
	// ErrNoSpace is returned when a write fails because the disk is full.
	ErrNoSpace = errors.New("blockstore: block store is out of disk space")
	// ErrUnknownVersion is returned by Open for a store of another format.
	ErrUnknownVersion = errors.New("blockstore: unknown store format version")
	// ErrNotStore is returned by Open for a directory that holds files but
	// no block store.
	ErrNotStore = errors.New("blockstore: directory is not a block store")
	// ErrBlockTooLarge is returned for a block over Config.MaxBlockSize.
	ErrBlockTooLarge = errors.New("blockstore: block is larger than the configured maximum")
	// ErrBatchDone is returned when a Batch is used after Commit or Discard.
	ErrBatchDone = errors.New("blockstore: batch already committed or discarded")
)

// Store is a block store over plain files. It is safe for concurrent use;
// see the package documentation for the layout and durability guarantees.
type Store struct {
	// Set at construction, read-only afterwards.
	dir        string
	cfg        Config
	logger     *slog.Logger
	createTemp createTempFunc              // replaced by tests to inject write failures
	syncFS     func(*os.File) error        // syncs a whole filesystem; nil where there is none
	renameNew  func(from, to string) error // renameNoReplace; replaced by tests

	count  usageCount  // blocks stored and their bytes; atomic
	closed atomic.Bool // Close saved the count: a change removes it again

	mu sync.Mutex
	// Guarded by mu: blocks a batch has written to a temporary file and not
	// yet published, so the same batch does not write them twice.
	pending map[string]*Batch
}

// Open opens the block store in dir, creating it if dir is missing or
// empty, removes temporary files a previous process left behind and counts
// the stored blocks: one read of every directory, and a stat of every
// block file unless the last process closed the store (Close). A nil
// logger discards logs.
func Open(dir string, cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		dir:        dir,
		cfg:        cfg,
		logger:     logger,
		createTemp: createOSTemp,
		syncFS:     syncFilesystem,
		renameNew:  renameNoReplace,
		pending:    make(map[string]*Batch),
	}
	if err := s.prepare(); err != nil {
		return nil, fmt.Errorf("open block store %s: %w", dir, err)
	}
	saved, err := s.takeSavedUsage()
	if err != nil {
		return nil, fmt.Errorf("open block store %s: %w", dir, err)
	}
	if err := s.scan(saved); err != nil {
		return nil, fmt.Errorf("open block store %s: %w", dir, err)
	}
	return s, nil
}

// prepare checks the version file, or creates the store in an empty dir.
func (s *Store) prepare() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(s.dir, versionName))
	if errors.Is(err, fs.ErrNotExist) {
		return s.create()
	}
	if err != nil {
		return fmt.Errorf("read version: %w", err)
	}
	v, err := parseVersionFile(data)
	if err != nil {
		return err
	}
	if v != formatVersion {
		return fmt.Errorf("%w: found %d, this build reads %d", ErrUnknownVersion, v, formatVersion)
	}
	return nil
}

// create makes a store in an empty directory (temporary files of an
// interrupted create aside). Shard directories are made on first use.
func (s *Store) create() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list directory: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			return fmt.Errorf("%w: no %s file but found %q", ErrNotStore, versionName, e.Name())
		}
	}
	err = s.writeFileAtomic(s.dir, versionName, formatVersionFile(formatVersion))
	if err != nil {
		return fmt.Errorf("write version: %w", err)
	}
	return nil
}

// Dir returns the directory the store lives in.
func (s *Store) Dir() string { return s.dir }

// Has reports whether the block is stored, with one stat.
func (s *Store) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if !c.Defined() {
		return false, nil
	}
	_, err := os.Stat(s.blockPath(keyOf(c.Hash())))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("has %s: %w", c, err)
	}
	return true, nil
}

// GetSize returns the size of the stored block, with one stat and without
// verifying it.
func (s *Store) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	if !c.Defined() {
		return -1, ipld.ErrNotFound{Cid: c}
	}
	info, err := os.Stat(s.blockPath(keyOf(c.Hash())))
	if errors.Is(err, fs.ErrNotExist) {
		return -1, ipld.ErrNotFound{Cid: c}
	}
	if err != nil {
		return -1, fmt.Errorf("get size %s: %w", c, err)
	}
	return int(info.Size()), nil
}

// Get reads the block and verifies it against c's multihash. The returned
// block carries c itself, whatever its version and codec.
func (s *Store) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if !c.Defined() {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	key := keyOf(c.Hash())
	data, info, err := s.readBlock(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ipld.ErrNotFound{Cid: c}
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", c, err)
	}
	if err := s.verify(c, key, data, info); err != nil {
		return nil, err
	}
	return blocks.NewBlockWithCid(data, c)
}

// readBlock reads a whole block file, refusing one over MaxBlockSize. It
// also returns the file's identity, for quarantine.
func (s *Store) readBlock(key string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(s.blockPath(key))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if info.Size() > int64(s.cfg.MaxBlockSize) {
		return nil, nil, fmt.Errorf("%w: file has %d bytes", ErrBlockTooLarge, info.Size())
	}
	data := make([]byte, info.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, fmt.Errorf("read block: %w", err)
	}
	return data, info, nil
}

// ChecksBlocks marks the store as an object.CheckingGetter: Get hashes
// every block it reads and refuses one that does not match its CID.
func (s *Store) ChecksBlocks() {}

// HashOnRead does nothing: the store always verifies what it reads.
func (s *Store) HashOnRead(bool) {}

// Put stores one block and returns once it is durable.
func (s *Store) Put(ctx context.Context, b blocks.Block) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, err := s.admit(b)
	if err != nil {
		return err
	}
	if s.exists(key) {
		return describeWriteError("put", b.Cid(), s.syncShard(key))
	}
	f, newShard, err := s.writeTemp(key, b.RawData())
	if err != nil {
		return describeWriteError("put", b.Cid(), err)
	}
	if err := s.publish(f, key, len(b.RawData())); err != nil {
		return describeWriteError("put", b.Cid(), err)
	}
	if newShard {
		if err := syncDir(s.dir); err != nil {
			return describeWriteError("put", b.Cid(), err)
		}
	}
	return describeWriteError("put", b.Cid(), s.syncShard(key))
}

// PutMany stores blocks through a Batch, so their fsyncs overlap, and
// returns once all of them are durable.
func (s *Store) PutMany(ctx context.Context, bs []blocks.Block) error {
	if len(bs) == 1 {
		return s.Put(ctx, bs[0])
	}
	batch := s.NewBatch()
	for _, b := range bs {
		if err := batch.Put(ctx, b); err != nil {
			batch.Discard()
			return err
		}
	}
	return batch.Commit(ctx)
}

// admit checks that a block can be stored and verified later, and returns
// its key.
func (s *Store) admit(b blocks.Block) (string, error) {
	c := b.Cid()
	if !c.Defined() {
		return "", fmt.Errorf("put: undefined cid")
	}
	if len(b.RawData()) > s.cfg.MaxBlockSize {
		return "", fmt.Errorf("put %s: %w: %d bytes, limit %d", c, ErrBlockTooLarge, len(b.RawData()), s.cfg.MaxBlockSize)
	}
	prefix := c.Prefix()
	if _, err := mhcore.GetVariableHasher(prefix.MhType, prefix.MhLength); err != nil {
		return "", fmt.Errorf("put %s: cannot verify its hash function: %w", c, err)
	}
	return keyOf(c.Hash()), nil
}

// exists reports whether key has a published file. An error other than
// "not there" counts as absent, so the caller writes the block again and
// meets the real error on the way.
func (s *Store) exists(key string) bool {
	_, err := os.Stat(s.blockPath(key))
	return err == nil
}

// DeleteBlock removes the block and syncs its shard directory. Deleting a
// missing block is not an error.
func (s *Store) DeleteBlock(ctx context.Context, c cid.Cid) error {
	if !c.Defined() {
		return nil
	}
	key := keyOf(c.Hash())
	info, err := os.Lstat(s.blockPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", c, err)
	}
	err = os.Remove(s.blockPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another caller deleted it and counted it
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", c, err)
	}
	s.countRemoved(info.Size())
	if err := s.syncShard(key); err != nil {
		return fmt.Errorf("delete %s: %w", c, err)
	}
	return nil
}
