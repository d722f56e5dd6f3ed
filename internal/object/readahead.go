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

// writeChunks writes a file's chunks to w in order, while up to readAhead
// later chunks are fetched, verified and decrypted, each in its own
// goroutine. The tree of leaves is walked by one goroutine, in order. It
// returns once every goroutine it started has stopped.
func (o *Object) writeChunks(ctx context.Context, e *Entry, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pending := make(chan chan openedChunk, readAhead)
	var readers sync.WaitGroup
	free := make(chan []byte, readAhead+2) // decryption buffers the writer is done with
	go func() {
		defer close(pending)
		for i, ref := range e.chunks {
			done := make(chan openedChunk, 1)
			c, err := o.data.leaf(ctx, ref.leaf)
			if err != nil {
				done <- openedChunk{err: fmt.Errorf("read %s chunk %d: %w", e.Path, i, err)}
			} else {
				readers.Go(func() {
					var dst []byte
					select {
					case dst = <-free:
					default:
					}
					plain, err := o.openChunk(ctx, c, ref, dst)
					if err != nil {
						err = fmt.Errorf("read %s chunk %d: %w", e.Path, i, err)
					}
					done <- openedChunk{plain: plain, err: err}
				})
			}
			select {
			case pending <- done:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	err := o.writeInOrder(pending, w, e.Path, free)
	cancel()
	for range pending { // let the walker end
	}
	readers.Wait()
	return err
}

// writeInOrder writes each chunk as it comes out of pending, and stops at
// the first error. The buffer of a decrypted chunk goes back to free; that
// of a plaintext one is the block's own, which others may still read.
func (o *Object) writeInOrder(pending <-chan chan openedChunk, w io.Writer, path string, free chan<- []byte) error {
	for done := range pending {
		c := <-done
		if c.err != nil {
			return c.err
		}
		if _, err := w.Write(c.plain); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if o.header.Encrypted {
			select {
			case free <- c.plain[:0]:
			default:
			}
		}
	}
	return nil
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
