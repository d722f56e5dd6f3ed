package object

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/ipfs/go-cid"
)

// readAhead is how many chunks of a file are fetched, verified and
// decrypted at once while the one before them is written: enough to keep
// several holders sending and every core opening chunks. A 1 GiB restore
// from three holders took 7.2 s with 16 and 5.9 s with 48 (BENCHMARKS.md).
// A file being read holds at most about twice readAhead chunks in memory
// (sealed and open): about 100 MiB at the default chunk sizes (1 MiB at
// most), 192 MiB at the largest a manifest allows.
const readAhead = 48

// openedChunk is a chunk on its way from a reading goroutine to the writer.
type openedChunk struct {
	plain []byte
	err   error
}

// chunkStream fetches, verifies and decrypts the chunks of a list of
// files, in order, up to readAhead at once, each in its own goroutine,
// across file boundaries: a directory of small files is read ahead as a
// large file is. One goroutine walks the tree of leaves, in order.
type chunkStream struct {
	o       *Object
	cancel  context.CancelFunc
	pending chan chan openedChunk
	free    chan []byte // decryption buffers the writer is done with
	readers sync.WaitGroup
}

// streamChunks starts reading the chunks of files, in order.
func (o *Object) streamChunks(ctx context.Context, files []*Entry) *chunkStream {
	ctx, cancel := context.WithCancel(ctx)
	s := &chunkStream{o: o, cancel: cancel, pending: make(chan chan openedChunk, readAhead), free: make(chan []byte, readAhead+2)}
	go func() {
		defer close(s.pending)
		for _, e := range files {
			for i, ref := range e.chunks {
				if !s.start(ctx, e, i, ref) {
					return
				}
			}
		}
	}()
	return s
}

// start queues chunk i of e and starts reading it; false when the stream
// is cancelled or the chunk's leaf cannot be found (its error is queued).
func (s *chunkStream) start(ctx context.Context, e *Entry, i int, ref chunkRef) bool {
	done := make(chan openedChunk, 1)
	c, err := s.o.data.leaf(ctx, ref.leaf)
	if err != nil {
		done <- openedChunk{err: fmt.Errorf("read %s chunk %d: %w", e.Path, i, err)}
	} else {
		s.readers.Go(func() {
			var dst []byte
			select {
			case dst = <-s.free:
			default:
			}
			plain, err := s.o.openChunk(ctx, c, ref, dst)
			if err != nil {
				err = fmt.Errorf("read %s chunk %d: %w", e.Path, i, err)
			}
			done <- openedChunk{plain: plain, err: err}
		})
	}
	select {
	case s.pending <- done:
	case <-ctx.Done():
		return false
	}
	return err == nil
}

// writeFile writes the next len(e.chunks) chunks of the stream, e's, to w.
func (s *chunkStream) writeFile(e *Entry, w io.Writer) error {
	for range e.chunks {
		done, ok := <-s.pending
		if !ok {
			return fmt.Errorf("read %s: %w", e.Path, context.Canceled)
		}
		c := <-done
		if c.err != nil {
			return c.err
		}
		if _, err := w.Write(c.plain); err != nil {
			return fmt.Errorf("write %s: %w", e.Path, err)
		}
		if s.o.header.Encrypted { // a plaintext chunk is the block's own bytes, which others may still read
			select {
			case s.free <- c.plain[:0]:
			default:
			}
		}
	}
	return nil
}

// close stops the stream and waits for every goroutine it started.
func (s *chunkStream) close() {
	s.cancel()
	for range s.pending { // let the walker end
	}
	s.readers.Wait()
}

// writeChunks writes one file's chunks to w, reading ahead.
func (o *Object) writeChunks(ctx context.Context, e *Entry, w io.Writer) error {
	s := o.streamChunks(ctx, []*Entry{e})
	defer s.close()
	return s.writeFile(e, w)
}

// openChunk fetches the chunk c, verifies it and decrypts it into dst.
func (o *Object) openChunk(ctx context.Context, c cid.Cid, ref chunkRef, dst []byte) ([]byte, error) {
	data, err := getBlock(ctx, o.g, c)
	if err != nil {
		return nil, err
	}
	if o.header.Encrypted {
		if o.header.Version >= 2 && len(data) != sealedChunkSize(int(ref.size)) {
			return nil, fmt.Errorf("%w: chunk %s has %d bytes, a %d-byte chunk seals to %d", ErrCorruptBlock, c, len(data), ref.size, sealedChunkSize(int(ref.size)))
		}
		if data, err = open(dst, ref.key, data); err != nil {
			return nil, fmt.Errorf("%w: chunk %s fails authentication", ErrCorruptBlock, c)
		}
		if o.header.Version >= 2 {
			if data, err = unpadChunk(data, int(ref.size)); err != nil {
				return nil, fmt.Errorf("%w: chunk %s: %w", ErrCorruptBlock, c, err)
			}
		}
	}
	if len(data) != int(ref.size) {
		return nil, fmt.Errorf("%w: chunk %s has %d bytes, manifest says %d", ErrCorruptBlock, c, len(data), ref.size)
	}
	return data, nil
}
