package object

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
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

// TestReadAheadSpansFiles: a tar of a directory of small files reads the
// chunks of later files ahead, and a corrupt chunk in one file ends the
// stream after every file before it, whole.
func TestReadAheadSpansFiles(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{}
	for i := range 30 {
		files[fmt.Sprintf("f%02d.txt", i)] = fmt.Sprintf("small file %d ", i) + string(randomBytes(3000, uint64(i)))
	}
	store := newMemStore()
	res, err := Add(ctx, treeSource(writeTree(t, files)), testSecret(1), store, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := Open(ctx, res.Capability, store)
	if err != nil {
		t.Fatal(err)
	}
	var bad *Entry
	for i := range o.manifest.entries {
		if e := &o.manifest.entries[i]; e.Kind == KindFile && strings.HasSuffix(e.Path, "f17.txt") {
			bad = e
		}
	}
	c, err := o.data.leaf(ctx, bad.chunks[0].leaf)
	if err != nil {
		t.Fatal(err)
	}
	store.corrupt(c)

	var out bytes.Buffer
	if err := o.WriteTar(ctx, &out); !errors.Is(err, ErrCorruptBlock) {
		t.Fatalf("tar with f17's chunk corrupt: %v, want ErrCorruptBlock", err)
	}
	tr := tar.NewReader(&out)
	var whole []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		data, err := io.ReadAll(tr)
		if err != nil || hdr.Typeflag != tar.TypeReg {
			continue
		}
		if want, ok := files[path.Base(hdr.Name)]; ok && string(data) == want {
			whole = append(whole, path.Base(hdr.Name))
		}
	}
	if len(whole) != 17 || whole[16] != "f16.txt" {
		t.Errorf("files whole in the tar before the corrupt one: %v; want f00 to f16", whole)
	}
}

// gatedGetter holds every data chunk's Get until release is closed, and
// says on arrived each time one is waiting.
type gatedGetter struct {
	*memStore
	armed   *atomic.Bool // set once the object is open: the manifest's pieces are raw blocks too
	arrived chan struct{}
	release chan struct{}
}

func (g gatedGetter) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if g.armed.Load() && c.Prefix() == leafPrefix {
		g.arrived <- struct{}{}
		<-g.release
	}
	return g.memStore.Get(ctx, c)
}

// TestReadAheadAsksForManyFilesAtOnce: with every chunk's fetch held, a
// tar of 30 one-chunk files has many of them asked for at once, not one
// file after another.
func TestReadAheadAsksForManyFilesAtOnce(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{}
	for i := range 30 {
		files[fmt.Sprintf("f%02d.txt", i)] = string(randomBytes(2000, uint64(100+i)))
	}
	store := newMemStore()
	res, err := Add(ctx, treeSource(writeTree(t, files)), testSecret(1), store, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := gatedGetter{memStore: store, armed: new(atomic.Bool), arrived: make(chan struct{}, 100), release: make(chan struct{})}
	o, err := Open(ctx, res.Capability, g)
	if err != nil {
		t.Fatal(err)
	}
	g.armed.Store(true)
	done := make(chan error, 1)
	go func() { done <- o.WriteTar(ctx, io.Discard) }()
	deadline := time.After(10 * time.Second)
	for waiting := 0; waiting < 20; waiting++ {
		select {
		case <-g.arrived:
		case <-deadline:
			close(g.release)
			t.Fatalf("only %d chunk fetches of 30 one-chunk files waited at once; want them read ahead across files", waiting)
		}
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
