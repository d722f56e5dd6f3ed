package object

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	blocks "github.com/ipfs/go-block-format"
)

// failingSink fails every Put after the first ok ones.
type failingSink struct {
	ok  int
	err error
}

func (s *failingSink) Put(context.Context, blocks.Block) error {
	if s.ok == 0 {
		return s.err
	}
	s.ok--
	return nil
}

func TestAddStopsOnError(t *testing.T) {
	diskFull := errors.New("no space left on device")
	data := randomBytes(8<<20, 10)
	tests := []struct {
		name string
		ok   int
	}{{"first put", 0}, {"mid stream", 5}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &failingSink{ok: tt.ok, err: diskFull}
			_, err := Add(context.Background(), NewReaderSource("f", bytes.NewReader(data)), testSecret(1), sink, AddOptions{})
			if !errors.Is(err, diskFull) {
				t.Errorf("Add error = %v, want %v", err, diskFull)
			}
		})
	}
}

func TestAddCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Add(ctx, NewReaderSource("f", bytes.NewReader(randomBytes(4<<20, 11))), testSecret(1), newMemStore(), AddOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Add with a cancelled context: error %v, want context.Canceled", err)
	}
}

func TestAddOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts AddOptions
		want string
	}{
		{"long salt", AddOptions{Salt: make([]byte, 65)}, "salt"},
		{"bad chunker", AddOptions{Chunker: chunkerConfig(64, 100, 1024)}, "chunker.avg"},
		{"chunks too big", AddOptions{Chunker: chunkerConfig(1<<20, 2<<20, 4<<20)}, "chunker.max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Add(context.Background(), NewReaderSource("f", strings.NewReader("x")), testSecret(1), newMemStore(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Add error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestAddRejectsBadSourcePath(t *testing.T) {
	_, err := Add(context.Background(), NewReaderSource("../escape", strings.NewReader("x")), testSecret(1), newMemStore(), AddOptions{})
	if !errors.Is(err, ErrInvalidPath) {
		t.Errorf("Add error = %v, want ErrInvalidPath", err)
	}
}

// heapSink drops blocks and records the peak heap in use.
type heapSink struct {
	puts int
	peak uint64
}

func (s *heapSink) Put(context.Context, blocks.Block) error {
	s.puts++
	if s.puts%32 == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.peak = max(s.peak, ms.HeapInuse)
	}
	return nil
}

func TestAddStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("adds 256 MiB")
	}
	const size = 256 << 20
	src := io.LimitReader(rand.NewChaCha8([32]byte{12}), size)
	sink := &heapSink{}
	res, err := Add(context.Background(), NewReaderSource("big", src), testSecret(1), sink, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != size || sink.peak > 64<<20 {
		t.Errorf("added %d bytes with peak heap %d MiB, want %d bytes under 64 MiB", res.Size, sink.peak>>20, size)
	}
	t.Logf("peak heap in use %d MiB for a %d MiB add", sink.peak>>20, size>>20)
}
