package object

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

// loadV1 reads the committed version-1 objects (testdata/v1/README).
func loadV1(t *testing.T) (*memStore, []Capability, []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "v1")
	store := newMemStore()
	names, err := os.ReadDir(filepath.Join(dir, "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		c, err := cid.Decode(n.Name())
		if err != nil {
			t.Fatalf("block file %s: %v", n.Name(), err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "blocks", n.Name()))
		if err != nil {
			t.Fatal(err)
		}
		store.blocks[c] = data
	}
	lines, err := os.ReadFile(filepath.Join(dir, "capabilities"))
	if err != nil {
		t.Fatal(err)
	}
	var caps []Capability
	for _, line := range strings.Fields(string(lines)) {
		c, err := ParseCapability(line)
		if err != nil {
			t.Fatalf("capability %q: %v", line, err)
		}
		caps = append(caps, c)
	}
	want, err := os.ReadFile(filepath.Join(dir, "object.tar"))
	if err != nil {
		t.Fatal(err)
	}
	return store, caps, want
}

// TestReadsVersion1Objects opens objects written by the version-1 format
// and checks that they read back byte for byte.
func TestReadsVersion1Objects(t *testing.T) {
	store, caps, want := loadV1(t)
	if len(caps) != 2 {
		t.Fatalf("%d capabilities in testdata, want 2", len(caps))
	}
	for _, c := range caps {
		o, err := Open(context.Background(), c, store)
		if err != nil {
			t.Fatalf("Open(%s): %v", c.Root(), err)
		}
		if h := o.Header(); h.Version != 1 || h.Encrypted != c.Encrypted() {
			t.Errorf("header %+v, want version 1, encrypted %v", h, c.Encrypted())
		}
		var got bytes.Buffer
		if err := o.WriteTar(context.Background(), &got); err != nil {
			t.Fatalf("WriteTar: %v", err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("object %s reads as a %d-byte tar that differs from the %d bytes written by version 1", c.Root(), got.Len(), len(want))
		}
		out := filepath.Join(t.TempDir(), "out")
		if err := extractTo(o, out); err != nil {
			t.Fatalf("extract: %v", err)
		}
		if got, err := os.ReadFile(filepath.Join(out, "data.bin")); err != nil || !bytes.Equal(got, randomBytes(3000, 11)) {
			t.Errorf("extracted data.bin: %d bytes (%v), want the 3000 bytes written", len(got), err)
		}
	}
}
