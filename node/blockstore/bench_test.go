package blockstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"
)

// benchTotal is how many bytes one benchmark iteration writes.
const benchTotal = 64 << 20

var benchBlockSizes = []int{256 << 10, 1 << 20}

var (
	benchDataMu sync.Mutex
	benchData   = map[int][]blocks.Block{}
)

// benchBlocks returns benchTotal bytes of random blocks of the given size,
// generated once per size.
func benchBlocks(b testing.TB, size int) []blocks.Block {
	benchDataMu.Lock()
	defer benchDataMu.Unlock()
	if bl, ok := benchData[size]; ok {
		return bl
	}
	var bl []blocks.Block
	for i := range benchTotal / size {
		bl = append(bl, randomBlock(b, size, uint64(i)))
	}
	benchData[size] = bl
	return bl
}

// runWriteBench runs write once per iteration on a fresh empty directory
// on the same disk as the test's temporary directory.
// Opening a store is not timed.
func runWriteBench(b *testing.B, write func(b *testing.B, dir string, bl []blocks.Block)) {
	for _, size := range benchBlockSizes {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			bl := benchBlocks(b, size)
			root := b.TempDir()
			b.SetBytes(benchTotal)
			b.ResetTimer()
			for i := range b.N {
				dir := filepath.Join(root, fmt.Sprint(i))
				write(b, dir, bl)
				b.StopTimer()
				if err := os.RemoveAll(dir); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkPutSynced stores each block with its own durable Put.
func BenchmarkPutSynced(b *testing.B) {
	ctx := context.Background()
	runWriteBench(b, func(b *testing.B, dir string, bl []blocks.Block) {
		b.StopTimer()
		s := openTestStore(b, dir)
		b.StartTimer()
		for _, blk := range bl {
			if err := s.Put(ctx, blk); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBatch stores all blocks through one Batch and commits it.
func BenchmarkBatch(b *testing.B) {
	ctx := context.Background()
	runWriteBench(b, func(b *testing.B, dir string, bl []blocks.Block) {
		b.StopTimer()
		s := openTestStore(b, dir)
		b.StartTimer()
		batch := s.NewBatch()
		for _, blk := range bl {
			if err := batch.Put(ctx, blk); err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkRawSequentialWrite is the disk's limit for the same bytes: one
// file, written in block-sized pieces, fsynced once at the end.
func BenchmarkRawSequentialWrite(b *testing.B) {
	runWriteBench(b, func(b *testing.B, dir string, bl []blocks.Block) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, "raw"))
		if err != nil {
			b.Fatal(err)
		}
		for _, blk := range bl {
			if _, err := f.Write(blk.RawData()); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkOpen opens a store of 100,000 blocks of 1 KiB, as a member
// holding 100,000 small objects does at start: one read of every
// directory, and a stat of every block file to count their bytes unless
// the last process closed the store and saved its count ("closed"; else
// "crashed"). Usage itself is then a read of the count and one statfs.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s := openTestStore(b, dir)
	batch := s.NewBatch()
	if err := putAll(ctx, batch, testBlocks(b, 100_000, 1024)); err != nil {
		b.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	for _, closed := range []bool{false, true} {
		b.Run(map[bool]string{false: "crashed", true: "closed"}[closed], func(b *testing.B) {
			for b.Loop() {
				if closed {
					b.StopTimer()
					if err := s.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				s = openTestStore(b, dir)
			}
			if u, err := s.Usage(); err != nil || u.Blocks != 100_000 || u.Bytes != 100_000*1024 {
				b.Fatalf("Usage after Open = %d blocks, %d bytes, %v; want 100000 of 1024 bytes", u.Blocks, u.Bytes, err)
			}
		})
	}
}
