package object

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/cairn-fed/cairn/internal/chunker"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// item is one step of the ordered stream from the chunking goroutine to
// the collector: the start of an entry or one chunk of the current file.
type item struct {
	entry *Entry
	job   *chunkJob
}

// chunkJob is one chunk on its way through a sealing worker.
type chunkJob struct {
	plain   []byte
	done    chan sealed // buffered; receives exactly one result
	buffers chan []byte // where plain goes back when no block holds it
	owned   bool        // plain became the block's data (unencrypted)
}

// release returns the plaintext buffer to the pool, or a fresh slot when
// the block keeps the buffer.
func (j *chunkJob) release() {
	if j.owned {
		j.buffers <- nil
	} else {
		j.buffers <- j.plain[:0]
	}
}

// sealed is a worker's result.
type sealed struct {
	block blocks.Block
	key   Key
	size  int
}

// pipeline runs the chunking goroutine and the sealing workers.
type pipeline struct {
	ordered chan item
	jobs    chan *chunkJob
	buffers chan []byte
	wg      sync.WaitGroup
	err     error // set by the chunking goroutine before ordered closes
}

func startPipeline(ctx context.Context, src Source, secret *ContentSecret, opts AddOptions) *pipeline {
	inFlight := 2*opts.Workers + 2
	p := &pipeline{
		ordered: make(chan item, inFlight),
		jobs:    make(chan *chunkJob, inFlight),
		buffers: make(chan []byte, inFlight),
	}
	for range inFlight {
		p.buffers <- nil
	}
	for range opts.Workers {
		p.wg.Go(func() { sealWorker(p.jobs, secret, !opts.Unencrypted) })
	}
	var gear *chunker.Gear // the public table: nothing to hide
	if !opts.Unencrypted {
		gear = chunker.NewGear(*secret)
	}
	p.wg.Go(func() {
		defer close(p.jobs)
		defer close(p.ordered)
		p.err = p.produce(ctx, src, opts.Chunker, gear)
	})
	return p
}

// wait waits for every pipeline goroutine. The collector must have
// drained ordered or cancelled the context first.
func (p *pipeline) wait() {
	for range p.ordered { // unblock the producer after a collector error
	}
	p.wg.Wait()
}

func sealWorker(jobs <-chan *chunkJob, secret *ContentSecret, encrypt bool) {
	for job := range jobs {
		if !encrypt {
			job.owned = true
			job.done <- sealed{block: newBlock(cid.Raw, job.plain), size: len(job.plain)}
			continue
		}
		k := chunkKey(secret, job.plain)
		job.done <- sealed{block: newBlock(cid.Raw, sealChunk(k, job.plain)), key: k, size: len(job.plain)}
	}
}

// produce reads the source and emits items in order.
func (p *pipeline) produce(ctx context.Context, src Source, cfg chunker.Config, gear *chunker.Gear) error {
	for {
		e, r, err := src.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := p.send(ctx, item{entry: &e}); err != nil {
			return err
		}
		if e.Kind == KindFile && r != nil {
			if err := p.chunkFile(ctx, r, cfg, gear); err != nil {
				return err
			}
		}
	}
}

func (p *pipeline) chunkFile(ctx context.Context, r io.Reader, cfg chunker.Config, gear *chunker.Gear) error {
	c := chunker.NewWithGear(r, cfg, gear)
	for {
		var buf []byte
		select {
		case buf = <-p.buffers:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		size, err := c.Size()
		if errors.Is(err, io.EOF) {
			p.buffers <- buf
			return nil
		}
		if err != nil {
			return err
		}
		if room := paddedRoom(size, cfg); gear != nil && cap(buf) < room {
			buf = make([]byte, 0, room) // room to pad in place
		}
		chunk, err := c.Next(buf[:0:cap(buf)])
		if err != nil {
			return err
		}
		job := &chunkJob{plain: chunk, done: make(chan sealed, 1), buffers: p.buffers}
		p.jobs <- job // never blocks for long: workers always drain jobs
		if err := p.send(ctx, item{job: job}); err != nil {
			return err
		}
	}
}

// paddedRoom is the capacity a buffer for an encrypted chunk of size
// bytes gets, so that it is padded to its size class in place. A chunk
// below cfg.Min ends its file (a small file, or a large file's tail) and
// gets just its own room; any other gets room for the largest chunk, so
// the pooled buffer serves every later chunk of a large file without
// growing.
func paddedRoom(size int, cfg chunker.Config) int {
	if size >= cfg.Min {
		size = cfg.Max
	}
	return sealedChunkSize(size) - sealOverhead
}

func (p *pipeline) send(ctx context.Context, it item) error {
	select {
	case p.ordered <- it:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
