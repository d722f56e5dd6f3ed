package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/blockstore"
)

func TestIngestPrintsEveryRow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table, err := Ingest(ctx, IngestOptions{Dir: t.TempDir(), Sizes: []int64{4 << 20}, Runs: 1})
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	var out strings.Builder
	table.Print(&out)
	for _, want := range []string{"durable sequential write", "cairn add 4 MiB", "ratio to durable-write limit", "peak resident memory"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q; got:\n%s", want, out.String())
		}
	}
	for _, r := range table.Rows {
		if r.Value <= 0 {
			t.Errorf("row %q = %v; want a positive figure", r.Name, r.Value)
		}
	}
}

func TestStreamNeverRepeats(t *testing.T) {
	pool := make([]byte, 64<<20)
	first := make([]byte, 64<<10)
	if _, err := io.ReadFull(newStream(pool, 1<<30), first); err != nil {
		t.Fatal(err)
	}
	s := newStream(pool, 1<<30)
	s.offset = 64 << 20 // the pool's second lap: same bytes, another stamp
	second := make([]byte, 64<<10)
	if _, err := io.ReadFull(s, second); err != nil {
		t.Fatal(err)
	}
	if string(first) == string(second) {
		t.Error("the stream repeats after one lap of its pool; want a different stamp")
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

// BenchmarkIngest adds $CAIRN_BENCH_MIB (default 256) MiB through the full
// path into a real store below $CAIRN_BENCH_DIR (default the system's
// temporary directory) and reports MB/s and MB per CPU-second.
func BenchmarkIngest(b *testing.B) {
	size := int64(256 << 20)
	if mib, err := strconv.Atoi(os.Getenv("CAIRN_BENCH_MIB")); err == nil && mib > 0 {
		size = int64(mib) << 20
	}
	dir := os.Getenv("CAIRN_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	ctx := context.Background()
	var secret object.ContentSecret
	rand.Read(secret[:])
	pool := newStreamPool()
	b.SetBytes(size)
	var elapsed, cpu time.Duration
	for i := range b.N {
		storeDir := fmt.Sprintf("%s/cairn-bench-%d-%d", dir, os.Getpid(), i)
		bs, err := blockstore.Open(storeDir, blockstore.DefaultConfig(), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		cpuBefore, start := cpuTime(), time.Now()
		if err := ingest(ctx, bs, newStream(pool, size), secret); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - cpuBefore
		settle(storeDir)
	}
	b.ReportMetric(float64(int64(b.N)*size)/1e6/elapsed.Seconds(), "MB/s-add")
	b.ReportMetric(float64(int64(b.N)*size)/1e6/cpu.Seconds(), "MB/cpu-s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
