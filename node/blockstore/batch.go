package blockstore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// Batch writes many blocks and makes them durable together. Put queues a
// block for a pool of SyncWorkers goroutines, each of which writes one
// block at a time to a temporary file and closes it, without syncing it.
// Every FlushBytes, and at Commit, a flush makes the written files durable
// with one filesystem sync, and only then renames them to their final
// names; Commit ends with one more sync, which makes the names durable.
//
// Syncing once per FlushBytes instead of once per block is what makes a
// batch fast: an fsync commits the filesystem journal and waits for the
// device, so per-block fsyncs leave ingest waiting on latency, while one
// sync of many files costs about what the device needs to write them.
// Each worker asks the kernel to start writing a file back as soon as it
// is written, so the device works while the caller computes the next
// blocks and a flush mostly waits for the tail. One flush runs at a time,
// in the background, while the workers write the next FlushBytes; a worker
// that fills a third waits for it. A batch thus holds at most
// (MaxQueuedBlocks+SyncWorkers) blocks in memory, SyncWorkers open files,
// and about 2*FlushBytes of written but unpublished data on disk, whatever
// its size. A block's bytes must not be modified after Put (blocks are
// immutable by contract).
//
// A block put through a batch becomes visible to Get and Has once a flush
// has published it (at the latest when Commit returns), and durable when
// Commit returns nil. Every Batch must end with Commit or Discard, which
// wait for its goroutines. A Batch is safe for concurrent use.
type Batch struct {
	// Set at construction.
	store     *Store
	jobs      chan writeJob
	root      *os.File      // the store's directory, for syncs; nil if it could not be opened
	flushSlot chan struct{} // holds a token while a flush runs

	// sendMu is held shared while sending on jobs, and exclusively to close
	// it, so no Put sends on a closed channel. It guards done.
	sendMu  sync.RWMutex
	done    bool
	started atomic.Int32 // workers started, up to SyncWorkers
	workers sync.WaitGroup
	flushes sync.WaitGroup

	mu sync.Mutex
	// Guarded by mu.
	err          error               // first failure; later blocks are dropped
	abandoned    bool                // Discard or a cancelled Commit: drop queued blocks
	segment      []pendingBlock      // written, waiting for the next flush
	segmentBytes int                 // bytes in segment
	touchedDir   map[string]struct{} // directories whose entries Commit syncs
}

// writeJob is a block waiting for a worker.
type writeJob struct {
	data []byte
	key  string
	cid  cid.Cid
}

// pendingBlock is a block written to a temporary file, not yet synced.
type pendingBlock struct {
	temp string // path of the temporary file
	key  string
	cid  cid.Cid
	size int
}

// NewBatch starts an empty batch.
func (s *Store) NewBatch() *Batch {
	b := &Batch{
		store:      s,
		jobs:       make(chan writeJob, s.cfg.MaxQueuedBlocks),
		flushSlot:  make(chan struct{}, 1),
		touchedDir: make(map[string]struct{}),
	}
	// Opened now, so a sync reports every writeback error since the batch
	// started (Linux tracks them per open file).
	root, err := os.Open(s.dir)
	if err != nil {
		b.err = fmt.Errorf("open store directory to sync: %w", err)
	}
	b.root = root
	return b
}

// Put queues blk for writing. It returns the batch's first failure, if
// any, so a caller stops early when the disk is full.
func (b *Batch) Put(ctx context.Context, blk blocks.Block) error {
	if err := b.failure(); err != nil {
		return err
	}
	key, err := b.store.admit(blk)
	if err != nil {
		return err
	}
	if b.store.claim(key, b) {
		return nil // already queued by this batch
	}
	if b.store.exists(key) {
		b.store.release(key, b)
		b.touch(key)
		return nil
	}
	return b.enqueue(ctx, writeJob{data: blk.RawData(), key: key, cid: blk.Cid()})
}

// enqueue hands a block to the workers, starting one more with each block
// until there are SyncWorkers, so a small batch starts few goroutines.
func (b *Batch) enqueue(ctx context.Context, job writeJob) error {
	b.sendMu.RLock()
	defer b.sendMu.RUnlock()
	if b.done {
		b.store.release(job.key, b)
		return ErrBatchDone
	}
	if n := int32(b.store.cfg.SyncWorkers); b.started.Load() < n && b.started.Add(1) <= n {
		b.workers.Go(b.work)
	}
	select {
	case b.jobs <- job:
		return nil
	case <-ctx.Done():
		b.store.release(job.key, b)
		return ctx.Err()
	}
}

func (b *Batch) work() {
	for job := range b.jobs {
		if b.dropping() {
			b.store.release(job.key, b)
			continue
		}
		b.write(job)
	}
}

// write writes one block to a temporary file and adds it to the segment.
// Its claim is released when the block is published or dropped.
func (b *Batch) write(job writeJob) {
	temp, newShard, err := b.store.writeUnsynced(job.key, job.data)
	if err != nil {
		b.store.release(job.key, b)
		b.fail(describeWriteError("put", job.cid, err))
		return
	}
	if newShard {
		b.touchDir(b.store.dir)
	}
	b.touch(job.key)
	full := b.addPending(pendingBlock{temp: temp, key: job.key, cid: job.cid, size: len(job.data)})
	if full != nil {
		b.startFlush(full)
	}
}

// addPending adds a written block to the segment. When the segment
// reaches FlushBytes it returns it, for flushing, and starts a new one.
func (b *Batch) addPending(p pendingBlock) []pendingBlock {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.segment = append(b.segment, p)
	b.segmentBytes += p.size
	if b.segmentBytes < b.store.cfg.FlushBytes {
		return nil
	}
	full := b.segment
	b.segment, b.segmentBytes = nil, 0
	return full
}

// Commit waits until every block put through the batch is written, then
// flushes the last ones and syncs the new names. When it returns nil every
// block is durable. If ctx ends first, queued blocks are dropped and
// Commit returns ctx's error once the workers have stopped.
func (b *Batch) Commit(ctx context.Context) error {
	if !b.finish() {
		return ErrBatchDone
	}
	defer b.closeRoot()
	stop := context.AfterFunc(ctx, b.abandon)
	b.workers.Wait()
	b.flushes.Wait()
	stop()
	last := b.takeSegment()
	if err := b.failure(); err != nil {
		b.drop(last)
		return err
	}
	if err := ctx.Err(); err != nil {
		b.drop(last)
		return fmt.Errorf("commit batch: %w", err)
	}
	if err := b.flush(last); err != nil {
		return err
	}
	return b.syncNames()
}

// Discard drops every block still queued or unpublished and waits for the
// goroutines. Blocks already published stay in the store (their content
// is durable, their names maybe not yet). Discard after Commit does
// nothing.
func (b *Batch) Discard() {
	b.abandon()
	if !b.finish() {
		return
	}
	b.workers.Wait()
	b.flushes.Wait()
	b.drop(b.takeSegment())
	b.closeRoot()
}

// finish closes the job queue; it reports false if that was already done.
func (b *Batch) finish() bool {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	if b.done {
		return false
	}
	b.done = true
	close(b.jobs)
	return true
}

func (b *Batch) closeRoot() {
	if b.root != nil {
		_ = b.root.Close()
	}
}

// touch records that key's shard directory must be synced at Commit.
func (b *Batch) touch(key string) {
	b.touchDir(b.store.shardPath(key))
}

func (b *Batch) touchDir(dir string) {
	b.mu.Lock()
	b.touchedDir[dir] = struct{}{}
	b.mu.Unlock()
}

// touched lists the directories to sync at Commit.
func (b *Batch) touched() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	dirs := make([]string, 0, len(b.touchedDir))
	for dir := range b.touchedDir {
		dirs = append(dirs, dir)
	}
	return dirs
}

func (b *Batch) takeSegment() []pendingBlock {
	b.mu.Lock()
	defer b.mu.Unlock()
	seg := b.segment
	b.segment, b.segmentBytes = nil, 0
	return seg
}

func (b *Batch) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
}

func (b *Batch) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *Batch) abandon() {
	b.mu.Lock()
	b.abandoned = true
	b.mu.Unlock()
}

// dropping reports whether blocks should be dropped, not written or
// published.
func (b *Batch) dropping() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.abandoned || b.err != nil
}

// claim records that batch b writes key and reports whether b already had.
// Another batch writing the same key does not stop b: both copies are
// identical, and the one published second is dropped (publishName).
func (s *Store) claim(key string, b *Batch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok := s.pending[key]
	if !ok {
		s.pending[key] = b
	}
	return owner == b
}

// release forgets b's claim on key, if it holds it.
func (s *Store) release(key string, b *Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[key] == b {
		delete(s.pending, key)
	}
}
