package blockstore

import (
	"fmt"
	"os"
	"sync"
)

// startFlush flushes seg in the background, once the previous flush has
// finished.
func (b *Batch) startFlush(seg []pendingBlock) {
	b.flushSlot <- struct{}{}
	b.flushes.Go(func() {
		defer func() { <-b.flushSlot }()
		_ = b.flush(seg) // a failure is recorded in the batch
	})
}

// flush makes the content of seg's files durable, then publishes them
// under their final names. Content is synced before any rename, so a
// crash never leaves a final name over incomplete content. On failure, or
// when the batch is being dropped, it removes seg's files instead.
func (b *Batch) flush(seg []pendingBlock) error {
	if len(seg) == 0 {
		return nil
	}
	if b.dropping() {
		b.drop(seg)
		return ErrBatchDone
	}
	if err := b.syncContent(seg); err != nil {
		b.drop(seg)
		err = fmt.Errorf("sync %d blocks: %w", len(seg), markNoSpace(err))
		b.fail(err)
		return err
	}
	for i, p := range seg {
		if err := b.store.publishName(p.temp, p.key, p.size); err != nil {
			b.drop(seg[i+1:])
			b.store.release(p.key, b)
			err = describeWriteError("publish", p.cid, err)
			b.fail(err)
			return err
		}
		b.store.release(p.key, b)
	}
	return nil
}

// drop removes the temporary files of seg and releases their claims.
func (b *Batch) drop(seg []pendingBlock) {
	for _, p := range seg {
		_ = os.Remove(p.temp)
		b.store.release(p.key, b)
	}
}

// syncContent makes the content of seg's files durable: with one sync of
// the whole filesystem where the system has it, else with one fsync per
// file, SyncWorkers at a time.
func (b *Batch) syncContent(seg []pendingBlock) error {
	if b.store.syncFS != nil {
		return b.store.syncFS(b.root)
	}
	temps := make([]string, len(seg))
	for i, p := range seg {
		temps[i] = p.temp
	}
	return forEachParallel(temps, b.store.cfg.SyncWorkers, syncFile)
}

// syncNames makes the entries of every touched directory durable.
func (b *Batch) syncNames() error {
	dirs := b.touched()
	if len(dirs) == 0 {
		return nil
	}
	var err error
	if b.store.syncFS != nil {
		err = b.store.syncFS(b.root)
	} else {
		err = forEachParallel(dirs, b.store.cfg.SyncWorkers, syncDir)
	}
	if err != nil {
		return fmt.Errorf("sync block directories: %w", markNoSpace(err))
	}
	return nil
}

// syncFile opens a written file again and fsyncs it.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s to sync: %w", path, err)
	}
	err = f.Sync()
	closeErr := f.Close()
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if closeErr != nil {
		return fmt.Errorf("close %s: %w", path, closeErr)
	}
	return nil
}

// forEachParallel runs fn on every item with at most n at a time and
// returns the first error.
func forEachParallel(items []string, n int, fn func(string) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(items))
	limit := make(chan struct{}, n)
	for _, item := range items {
		limit <- struct{}{}
		wg.Go(func() {
			defer func() { <-limit }()
			if err := fn(item); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
