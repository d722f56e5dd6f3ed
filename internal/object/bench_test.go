package object

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the user and system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAdd adds 64 MiB of random data into a discarding sink.
func BenchmarkAdd(b *testing.B) {
	data := randomBytes(64<<20, 9)
	for _, bc := range []struct {
		name string
		opts AddOptions
	}{{"encrypted", AddOptions{}}, {"unencrypted", AddOptions{Unencrypted: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			cpuBefore := cpuTime()
			for b.Loop() {
				src := NewReaderSource("bench", bytes.NewReader(data))
				if _, err := Add(context.Background(), src, testSecret(1), &discardSink{}, bc.opts); err != nil {
					b.Fatal(err)
				}
			}
			// MB per CPU-second is robust to other processes on the machine.
			cpu := (cpuTime() - cpuBefore).Seconds()
			b.ReportMetric(float64(b.N*len(data))/1e6/cpu, "MB/cpu-s")
		})
	}
}

// BenchmarkAddSmall adds one 1 KiB object per iteration, the unit of a
// pinning node's load: what it costs beyond its bytes is per object.
func BenchmarkAddSmall(b *testing.B) {
	data := randomBytes(1<<10, 9)
	b.ReportAllocs()
	for b.Loop() {
		src := NewReaderSource("small", bytes.NewReader(data))
		if _, err := Add(context.Background(), src, testSecret(1), &discardSink{}, AddOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoredBytes reports stored bytes beyond the plaintext, in % (every
// block: chunks with their tags and padding, tree nodes, manifest, root)
// for one 1 GiB random file and for a mix of 500 files whose sizes are
// spread evenly on a log scale from 10 bytes to 4 MiB. Run it with
// -benchtime 1x: the figure does not depend on b.N.
func BenchmarkStoredBytes(b *testing.B) {
	for _, bc := range []struct {
		name  string
		sizes []int
	}{{"one-1GiB-file", []int{1 << 30}}, {"mix-500-files", logSpread(500, 10, 4<<20)}} {
		b.Run(bc.name, func(b *testing.B) {
			var res Result
			for b.Loop() {
				src := &sizedSource{sizes: bc.sizes}
				var err error
				if res, err = Add(context.Background(), src, testSecret(1), &discardSink{}, AddOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(100*float64(res.StoredBytes-res.Size)/float64(res.Size), "%stored-over-plain")
			b.ReportMetric(float64(res.Size), "plain-bytes")
			b.ReportMetric(float64(res.Size)/float64(res.Chunks), "plain-B/chunk")
		})
	}
}

// logSpread returns n sizes spread evenly on a log scale over [lo, hi].
func logSpread(n, lo, hi int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = int(float64(lo) * math.Pow(float64(hi)/float64(lo), float64(i)/float64(n-1)))
	}
	return out
}

// sizedSource yields one file of random bytes per size, without holding
// them in memory.
type sizedSource struct {
	sizes []int
	next  int
}

func (s *sizedSource) Next() (Entry, io.Reader, error) {
	if s.next == len(s.sizes) {
		return Entry{}, nil, io.EOF
	}
	s.next++
	r := io.LimitReader(rand.NewChaCha8([32]byte{byte(s.next), byte(s.next >> 8)}), int64(s.sizes[s.next-1]))
	return Entry{Path: fmt.Sprintf("f%04d", s.next), Kind: KindFile, Mode: 0o644}, r, nil
}
