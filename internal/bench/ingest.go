package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"lukechampine.com/blake3"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/blockstore"
)

// IngestOptions say what the ingest benchmark measures.
type IngestOptions struct {
	Dir   string  // a directory on the disk to measure; the store goes below it
	Sizes []int64 // bytes per add
	Runs  int     // runs per figure; the median is reported
}

// DefaultIngestOptions are the sizes issue 2 asks for: 256 MiB and 1 GiB.
func DefaultIngestOptions(dir string) IngestOptions {
	return IngestOptions{Dir: dir, Sizes: []int64{256 << 20, 1 << 30}, Runs: 3}
}

// Ingest measures `cairn add`'s full path (chunk, hash, encrypt, durable
// store) against this machine's crypto and durable-write limits.
func Ingest(ctx context.Context, opts IngestOptions) (Table, error) {
	t := Table{Title: "Ingest: the full add path against this machine's limits"}
	cryptoLimit := cryptoSpeed(opts.Runs)
	t.Rows = append(t.Rows, Row{Name: "limit: BLAKE3 + XChaCha20-Poly1305 + SHA-256, one core", Value: cryptoLimit, Unit: "MB/s", Note: "per byte, an add hashes twice and seals once"})
	diskLimit, err := durableWriteSpeed(opts.Dir, 256<<20, opts.Runs)
	if err != nil {
		return t, err
	}
	t.Rows = append(t.Rows, Row{Name: "limit: durable sequential write, one file + fsync", Value: diskLimit, Unit: "MB/s", Note: "same disk as the store"})
	for _, size := range opts.Sizes {
		speed, err := ingestSpeed(ctx, opts.Dir, size, opts.Runs)
		if err != nil {
			return t, err
		}
		label := fmt.Sprintf("%d MiB", size>>20)
		target := ""
		if size == 1<<30 {
			label, target = "1 GiB", "≥ 400 MB/s and ≥ 80% of the durable-write limit"
		}
		t.Rows = append(t.Rows,
			Row{Name: "cairn add " + label + " (encrypted, synced)", Value: speed, Unit: "MB/s", Target: target},
			Row{Name: "  ratio to durable-write limit", Value: 100 * speed / diskLimit, Unit: "%"})
	}
	t.Rows = append(t.Rows, Row{Name: "peak resident memory of the whole run", Value: peakRSS(), Unit: "MiB", Note: "adds stream; the file is never held in memory"})
	return t, nil
}

// cryptoSpeed measures, on one core, the per-byte work of an add: a BLAKE3
// keyed hash (the chunk key), an XChaCha20-Poly1305 seal and a SHA-256 (the
// CID of the ciphertext).
func cryptoSpeed(runs int) float64 {
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	out := make([]byte, 0, len(buf)+chacha20poly1305.Overhead)
	key := make([]byte, 32)
	const rounds = 256
	speed, _ := rate(runs, rounds*int64(len(buf)), func() error {
		for range rounds {
			h := blake3.New(32, key)
			h.Write(buf)
			k := h.Sum(nil)
			aead, _ := chacha20poly1305.NewX(k)
			sealed := aead.Seal(out[:0], make([]byte, aead.NonceSize()), buf, nil)
			sha256.Sum256(sealed)
		}
		return nil
	})
	return speed
}

// durableWriteSpeed writes size bytes to one file in 1 MiB writes and syncs
// it: the fastest durable write this disk allows.
func durableWriteSpeed(dir string, size int64, runs int) (float64, error) {
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	path := filepath.Join(dir, "cairn-bench-seqwrite")
	return timedRate(runs, size, func() (time.Duration, error) {
		defer settle(path)
		start := time.Now()
		err := writeSynced(path, buf, size)
		return time.Since(start), err
	})
}

// writeSynced writes size bytes of buf, repeated, to a new file at path
// and syncs it.
func writeSynced(path string, buf []byte, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("disk limit: %w", err)
	}
	defer f.Close()
	for written := int64(0); written < size; written += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			return fmt.Errorf("disk limit: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("disk limit: %w", err)
	}
	return nil
}

// settle deletes what a run wrote and waits until the filesystem has
// committed the deletion, so its cost (freeing blocks, and discarding
// them on a disk mounted with "discard") is not charged to the next run.
func settle(path string) {
	_ = os.RemoveAll(path)
	syscall.Sync()
}

// ingestSpeed adds size bytes of incompressible, non-repeating data to a
// fresh store and waits until it is durable, as `cairn add` does. Opening
// the store and deleting it afterwards are not timed.
func ingestSpeed(ctx context.Context, dir string, size int64, runs int) (float64, error) {
	var secret object.ContentSecret
	rand.Read(secret[:])
	pool := newStreamPool()
	return timedRate(runs, size, func() (time.Duration, error) {
		storeDir, err := os.MkdirTemp(dir, "cairn-bench-store-*")
		if err != nil {
			return 0, err
		}
		defer settle(storeDir)
		bs, err := blockstore.Open(storeDir, blockstore.DefaultConfig(), slog.New(slog.DiscardHandler))
		if err != nil {
			return 0, err
		}
		start := time.Now()
		err = ingest(ctx, bs, newStream(pool, size), secret)
		return time.Since(start), err
	})
}

// ingest adds r to bs through one batch, as `cairn add` does.
func ingest(ctx context.Context, bs *blockstore.Store, r io.Reader, secret object.ContentSecret) error {
	batch := bs.NewBatch()
	src := object.NewReaderSource("bench.bin", r)
	if _, err := object.Add(ctx, src, secret, batch, object.AddOptions{}); err != nil {
		batch.Discard()
		return fmt.Errorf("ingest: %w", err)
	}
	return batch.Commit(ctx)
}

// stream yields size bytes that look random and never repeat: a 64 MiB
// random pool with a running counter stamped every 64 KiB, so no chunk
// deduplicates against another, at memory speed.
type stream struct {
	pool      []byte
	remaining int64
	offset    int64
}

// newStreamPool makes the random pool streams read from. It takes a
// noticeable fraction of a second, so it is made once, outside the timed
// runs.
func newStreamPool() []byte {
	pool := make([]byte, 64<<20)
	rand.Read(pool)
	return pool
}

func newStream(pool []byte, size int64) *stream {
	return &stream{pool: pool, remaining: size}
}

func (s *stream) Read(p []byte) (int, error) {
	if s.remaining == 0 {
		return 0, io.EOF
	}
	const stamp = 64 << 10
	n := min(int64(len(p)), s.remaining, stamp-s.offset%stamp)
	start := s.offset % int64(len(s.pool))
	n = min(n, int64(len(s.pool))-start)
	copy(p[:n], s.pool[start:start+n])
	if s.offset%stamp == 0 && n >= 8 {
		binary.LittleEndian.PutUint64(p, uint64(s.offset))
	}
	s.offset += n
	s.remaining -= n
	return int(n), nil
}

func readFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	return string(data), err
}
