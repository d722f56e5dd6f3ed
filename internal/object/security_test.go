package object

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"
)

func TestDeterminism(t *testing.T) {
	data := randomBytes(3<<20, 4)
	base := addBytes(t, newMemStore(), "f", data, testSecret(1), AddOptions{})
	tests := []struct {
		name      string
		secret    ContentSecret
		opts      AddOptions
		wantSame  bool
		wantEqual bool // same data blocks
	}{
		{"same input and secret", testSecret(1), AddOptions{}, true, true},
		{"other secret", testSecret(2), AddOptions{}, false, false},
		{"salt", testSecret(1), AddOptions{Salt: []byte("again")}, false, true},
		{"unencrypted", testSecret(1), AddOptions{Unencrypted: true}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			res := addBytes(t, store, "f", data, tt.secret, tt.opts)
			if got := res.Root.Equals(base.Root); got != tt.wantSame {
				t.Errorf("same root = %v, want %v", got, tt.wantSame)
			}
			baseStore := newMemStore()
			addBytes(t, baseStore, "f", data, testSecret(1), AddOptions{})
			shared := sharedBlocks(baseStore, store)
			if (shared > 0) != tt.wantEqual {
				t.Errorf("%d blocks shared with the base object, want sharing %v", shared, tt.wantEqual)
			}
		})
	}
}

func sharedBlocks(a, b *memStore) int {
	n := 0
	for c := range a.blocks {
		if _, ok := b.blocks[c]; ok {
			n++
		}
	}
	return n
}

func TestPlaintextMarker(t *testing.T) {
	marker := []byte("CAIRN-PLAINTEXT-MARKER-7f3a")
	data := bytes.Repeat(append(marker, randomBytes(1000, 5)...), 3000)
	tests := []struct {
		name        string
		opts        AddOptions
		wantVisible bool
	}{
		{"encrypted", AddOptions{}, false},
		{"unencrypted", AddOptions{Unencrypted: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			addBytes(t, store, "secret-name-marker.txt", data, testSecret(1), tt.opts)
			visible := false
			for _, b := range store.blocks {
				if bytes.Contains(b, marker) || bytes.Contains(b, []byte("secret-name-marker")) {
					visible = true
				}
			}
			if visible != tt.wantVisible {
				t.Errorf("marker visible in stored blocks = %v, want %v", visible, tt.wantVisible)
			}
		})
	}
}

func TestWrongKey(t *testing.T) {
	store := newMemStore()
	res := addBytes(t, store, "f", []byte("content"), testSecret(1), AddOptions{})
	other := addBytes(t, newMemStore(), "f", []byte("content"), testSecret(2), AddOptions{})
	wrong := Capability{root: res.Root, key: other.Capability.key, encrypted: true}
	noKey := Capability{root: res.Root}
	for name, c := range map[string]Capability{"other key": wrong, "no key": noKey} {
		t.Run(name, func(t *testing.T) {
			o, err := Open(context.Background(), c, store)
			if !errors.Is(err, ErrWrongKey) || o != nil {
				t.Errorf("Open with %s: error %v, want ErrWrongKey", name, err)
			}
		})
	}
	unenc := addBytes(t, store, "f", []byte("content"), testSecret(1), AddOptions{Unencrypted: true})
	withKey := Capability{root: unenc.Root, key: res.Capability.key, encrypted: true}
	if _, err := Open(context.Background(), withKey, store); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Open of an unencrypted object with a key: error %v, want ErrWrongKey", err)
	}
}

func TestNotCairnObject(t *testing.T) {
	store := newMemStore()
	n := pbNode{data: []byte("plain unixfs-ish data")}
	b := newBlock(cid.DagProtobuf, n.encode())
	_ = store.Put(context.Background(), b)
	_, err := Open(context.Background(), Capability{root: b.Cid()}, store)
	if !errors.Is(err, ErrNotCairnObject) {
		t.Errorf("Open of a non-cairn node: error %v, want ErrNotCairnObject", err)
	}
}

func TestCorruptBlock(t *testing.T) {
	data := randomBytes(2<<20, 6)
	tests := []struct {
		name  string
		pick  func(all []cid.Cid) cid.Cid
		stage string // where the error must show
	}{
		{"root", func(all []cid.Cid) cid.Cid { return all[0] }, "open"},
		{"manifest piece", func(all []cid.Cid) cid.Cid { return all[1] }, "open"},
		{"data chunk", func(all []cid.Cid) cid.Cid { return all[len(all)-1] }, "extract"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			res := addBytes(t, store, "f", data, testSecret(1), AddOptions{})
			all, err := Links(context.Background(), res.Root, store)
			if err != nil {
				t.Fatal(err)
			}
			store.corrupt(tt.pick(all))
			err = openAndExtract(t, store, res.Capability)
			if !errors.Is(err, ErrCorruptBlock) {
				t.Fatalf("error %v, want ErrCorruptBlock", err)
			}
		})
	}
}

func openAndExtract(t *testing.T, store BlockGetter, c Capability) error {
	o, err := Open(context.Background(), c, store)
	if err != nil {
		return err
	}
	out := filepath.Join(t.TempDir(), "out")
	err = extractTo(o, out)
	if _, statErr := os.Stat(out); err != nil && statErr == nil {
		t.Errorf("a failed extract left the file behind")
	}
	return err
}

func TestDedup(t *testing.T) {
	store := newMemStore()
	data := randomBytes(10<<20, 7)
	first := addBytes(t, store, "f", data, testSecret(1), AddOptions{})
	n := store.len()
	second := addBytes(t, store, "f", data, testSecret(1), AddOptions{})
	if store.len() != n || !second.Root.Equals(first.Root) {
		t.Errorf("re-adding identical data: %d blocks, was %d (roots equal %v)", store.len(), n, second.Root.Equals(first.Root))
	}
	edited := append([]byte{0x42}, data...)
	third := addBytes(t, store, "f", edited, testSecret(1), AddOptions{})
	added := store.len() - n
	if added > 4 { // new first chunk, its tree node, manifest piece, root
		t.Errorf("a 1-byte insert into %d chunks added %d blocks, want at most 4", third.Chunks, added)
	}
}

func TestLinksAndStat(t *testing.T) {
	store := newMemStore()
	res := addBytes(t, store, "f", randomBytes(300<<10, 8), testSecret(1), AddOptions{Chunker: smallChunks})
	all, err := Links(context.Background(), res.Root, store)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != store.len() {
		t.Errorf("Links listed %d blocks, the store holds %d", len(all), store.len())
	}
	h, err := Stat(context.Background(), res.Root, store)
	if err != nil || !h.Encrypted || h.ManifestPieces != 1 || h.Version != FormatVersion {
		t.Errorf("Stat = %+v, %v, want encrypted version %d with 1 manifest piece", h, err, FormatVersion)
	}
}
