package eventlog

import (
	"context"
	"sync"
	"testing"

	"github.com/cairn-fed/cairn/netstat"
)

// BenchmarkAppend appends one event at a time: one write and one
// fdatasync per event, the worst case.
func BenchmarkAppend(b *testing.B) {
	l := openLog(b, b.TempDir(), DefaultConfig())
	defer l.Close()
	ev := sampleEvent(1)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Append(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendParallel appends from 16 goroutines per core: group
// commit shares each fdatasync among the appends waiting for it.
func BenchmarkAppendParallel(b *testing.B) {
	l := openLog(b, b.TempDir(), DefaultConfig())
	defer l.Close()
	ev := sampleEvent(1)
	ctx := context.Background()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(ctx, ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSince reads 10 000 stored events from disk.
func BenchmarkSince(b *testing.B) {
	l := openLog(b, b.TempDir(), DefaultConfig())
	defer l.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 50 { // group commit makes filling quick
		wg.Go(func() {
			for i := range 200 {
				if _, err := l.Append(ctx, sampleEvent(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n := 0
	for b.Loop() {
		n = 0
		for _, err := range l.Since(ctx, netstat.Cursor{}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
