package object

import (
	"bytes"
	"context"
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
