package node

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/object"
)

// errCutOff is the failure of a client that goes away mid-get.
var errCutOff = errors.New("client went away")

// cutOffWriter takes limit bytes, then fails like a closed connection.
type cutOffWriter struct {
	bytes.Buffer
	limit int
}

func (w *cutOffWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.limit {
		return 0, errCutOff
	}
	return w.Buffer.Write(p)
}

// TestReadStreamsAndAnInterruptedGetResumes: a member that holds nothing
// of an object reads it while it arrives from the one holder. A read cut
// off part way keeps the blocks that arrived (before, a failed fetch
// discarded them) and records no copy; the next read gets the rest and
// the same bytes, and records the copy.
func TestReadStreamsAndAnInterruptedGetResumes(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	data := make([]byte, 12<<20)
	rand.NewChaCha8([32]byte{'r', 'e', 'a', 'd'}).Read(data)
	added, err := a.Add(ctx, object.NewReaderSource("big.bin", bytes.NewReader(data)), AddOptions{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	root := cid.MustParse(added.CID)
	all, err := object.Links(ctx, root, a.disk.blocks)
	if err != nil {
		t.Fatal(err)
	}
	held := func() int {
		n := 0
		for _, c := range all {
			if ok, _ := b.disk.blocks.Has(ctx, c); ok {
				n++
			}
		}
		return n
	}

	obj, finish, err := b.Read(ctx, added.Capability)
	if err != nil {
		t.Fatal(err)
	}
	cut := &cutOffWriter{limit: 3 << 20}
	readErr := obj.WriteFile(ctx, "big.bin", cut)
	if !errors.Is(readErr, errCutOff) {
		t.Fatalf("read cut off at 3 MiB: %v", readErr)
	}
	if err := finish(readErr); !errors.Is(err, errCutOff) {
		t.Fatalf("finish of a cut-off read: %v, want the cut-off", err)
	}
	// What arrived is kept: the chunks written and those read ahead (up
	// to 48, so possibly every block of this object).
	if kept := held(); kept == 0 {
		t.Fatalf("after a read cut off at 3 of 12 MiB, b keeps none of the %d blocks", len(all))
	}
	if _, err := b.disk.index.get(ctx, added.CID); err == nil {
		t.Fatal("a cut-off read recorded a copy")
	}

	obj, finish, err = b.Read(ctx, added.Capability)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	readErr = obj.WriteFile(ctx, "big.bin", &got)
	if err := finish(readErr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read %d bytes, not the %d added", got.Len(), len(data))
	}
	if n := held(); n != len(all) {
		t.Errorf("after a complete read b holds %d of %d blocks", n, len(all))
	}
	if rec, err := b.disk.index.get(ctx, added.CID); err != nil || rec.Role != RoleHolder {
		t.Errorf("after a complete read b's record is %+v, %v; want a holder's", rec, err)
	}
}

// pausingWriter pauses once, after its first write, as a slow disk or a
// pager does.
type pausingWriter struct {
	bytes.Buffer
	pause  time.Duration
	paused bool
}

func (w *pausingWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if !w.paused {
		w.paused = true
		<-time.After(w.pause) // the reader's own pause: what the test is about
	}
	return n, err
}

// TestReadSurvivesAPausingReader: a reader that stops reading for longer
// than fetch.stall_timeout asks for nothing meanwhile, so the fetch has
// not stalled and the read goes on (it failed, blaming the peers, when the
// stall clock ran while nobody asked for a block).
func TestReadSurvivesAPausingReader(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	// The stall timeout is short beside the pause, yet long enough that a
	// loaded machine running the race detector does not stall for real.
	b.cfg.Fetch.StallTimeout.Duration = 2 * time.Second
	data := make([]byte, 40<<20) // more chunks than are read ahead
	rand.NewChaCha8([32]byte{'p', 'a', 'u', 's', 'e'}).Read(data)
	added, err := a.Add(ctx, object.NewReaderSource("big.bin", bytes.NewReader(data)), AddOptions{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	obj, finish, err := b.Read(ctx, added.Capability)
	if err != nil {
		t.Fatal(err)
	}
	w := &pausingWriter{pause: 5 * time.Second}
	if err := finish(obj.WriteFile(ctx, "big.bin", w)); err != nil {
		t.Fatalf("a read that paused 5 s with a 2 s stall timeout: %v", err)
	}
	if !bytes.Equal(w.Bytes(), data) {
		t.Fatalf("read %d bytes, not the %d added", w.Len(), len(data))
	}
}
