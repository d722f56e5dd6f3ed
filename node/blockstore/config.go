package blockstore

import "fmt"

// Config tunes a Store. The zero value is invalid; start from DefaultConfig.
type Config struct {
	// SyncWorkers is how many goroutines of each Batch write blocks to
	// temporary files, each one block at a time, and, where the system has
	// no syncfs, how many files or directories a flush fsyncs at once.
	// Default 32: many concurrent fsyncs share journal commits and keep the
	// device queue full (measured here with per-block fsyncs and 256 KiB
	// blocks: 8 about 575 MB/s, 32 about 700 MB/s, 64 no better). With
	// syncfs the workers only copy into the page cache, and 4, 8 and 32
	// workers ingest equally fast.
	SyncWorkers int

	// MaxQueuedBlocks bounds how many blocks a Batch holds waiting for a
	// worker; the caller's Put blocks when the queue is full. Default 16: the
	// queue only smooths out the caller's bursts, as the workers already
	// hold SyncWorkers blocks. A batch holds at most
	// (MaxQueuedBlocks+SyncWorkers) blocks in memory, 12 MiB at 256 KiB.
	MaxQueuedBlocks int

	// FlushBytes is how many bytes a Batch writes between two flushes, each
	// of which syncs what was written and then publishes it. It bounds the
	// written but unpublished data of a batch (about twice FlushBytes) and
	// so the work a crash throws away. Default 64 MiB: the kernel has
	// already started writing each block back when it was written, so a
	// flush waits for little, and 32, 128 and 512 MiB ingested 1 GiB
	// equally fast here.
	FlushBytes int

	// MaxBlockSize is the largest block Put accepts and Get reads, in bytes.
	// Default 4 MiB: twice bitswap's 2 MiB limit, so any block a peer can
	// send fits, while a stray huge file cannot make Get allocate without
	// bound.
	MaxBlockSize int
}

// DefaultConfig returns the configuration documented on each field.
func DefaultConfig() Config {
	return Config{
		SyncWorkers:     32,
		MaxQueuedBlocks: 16,
		FlushBytes:      64 << 20,
		MaxBlockSize:    4 << 20,
	}
}

// Validate reports the first field that is out of range, by name.
func (c Config) Validate() error {
	switch {
	case c.SyncWorkers < 1 || c.SyncWorkers > 256:
		return fmt.Errorf("blockstore.sync_workers must be between 1 and 256, got %d", c.SyncWorkers)
	case c.MaxQueuedBlocks < 0 || c.MaxQueuedBlocks > 4096:
		return fmt.Errorf("blockstore.max_queued_blocks must be between 0 and 4096, got %d", c.MaxQueuedBlocks)
	case c.FlushBytes < 1 || c.FlushBytes > 1<<40:
		return fmt.Errorf("blockstore.flush_bytes must be between 1 and %d, got %d", 1<<40, c.FlushBytes)
	case c.MaxBlockSize < 1024 || c.MaxBlockSize > 1<<30:
		return fmt.Errorf("blockstore.max_block_size must be between 1024 and %d bytes, got %d", 1<<30, c.MaxBlockSize)
	}
	return nil
}
