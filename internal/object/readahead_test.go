package object

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestReadAheadStopsAtTheFirstBadChunk: chunks are read many at a time
// but written in order, so a corrupt chunk in the middle of a file ends
// the read exactly after the chunks before it, and every goroutine the
// read started has ended when it returns.
func TestReadAheadStopsAtTheFirstBadChunk(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(12<<20, 11)
	store := newMemStore()
	res := addBytes(t, store, "f", data, testSecret(1), AddOptions{})
	o, err := Open(ctx, res.Capability, store)
	if err != nil {
		t.Fatal(err)
	}
	chunks := o.manifest.entries[0].chunks
	if len(chunks) < 6 {
		t.Fatalf("%d chunks: the test needs a file of several", len(chunks))
	}
	bad := len(chunks) / 2
	c, err := o.data.leaf(ctx, chunks[bad].leaf)
	if err != nil {
		t.Fatal(err)
	}
	store.corrupt(c)
	before := 0
	for _, ref := range chunks[:bad] {
		before += int(ref.size)
	}

	goroutines := runtime.NumGoroutine()
	var out bytes.Buffer
	err = o.WriteFile(ctx, "f", &out)
	if !errors.Is(err, ErrCorruptBlock) {
		t.Fatalf("read with chunk %d of %d corrupt: %v, want ErrCorruptBlock", bad, len(chunks), err)
	}
	if !bytes.Equal(out.Bytes(), data[:before]) {
		t.Errorf("wrote %d bytes before the corrupt chunk, want exactly the %d of the chunks before it", out.Len(), before)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after the read, %d before", n, goroutines)
	}
}
