package object

import (
	"bytes"
	"context"
	"testing"

	"github.com/ipfs/go-cid"
)

func FuzzParseCapability(f *testing.F) {
	store := newMemStore()
	for _, opts := range []AddOptions{{}, {Unencrypted: true}} {
		res, err := Add(context.Background(), NewReaderSource("f", bytes.NewReader([]byte("x"))), testSecret(1), store, opts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(res.Capability.String())
	}
	f.Add("cairn1")
	f.Add("cairn1aaaaaaaa")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCapability(s)
		if err != nil {
			return
		}
		again, err := ParseCapability(c.String())
		if err != nil || again != c {
			t.Errorf("re-parse of %q gave %+v, %v; want %+v", c.String(), again, err, c)
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	m := &manifest{encrypted: true, salt: []byte("s"), entries: []Entry{
		{Path: "d", Kind: KindDir, Mode: 0o755},
		{Path: "d/f", Kind: KindFile, Mode: 0o600, Size: 5, chunks: []chunkRef{{size: 2}, {leaf: 1, size: 3}}},
		{Path: "d/l", Kind: KindSymlink, Target: "f"},
	}}
	f.Add(m.encode())
	m.encrypted = false
	f.Add(m.encode())
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			return
		}
		if again, err := decodeManifest(m.encode()); err != nil || len(again.entries) != len(m.entries) {
			t.Errorf("re-decode of an accepted manifest failed: %v", err)
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add(Header{Version: 1, Encrypted: true, ManifestPieces: 1}.encode())
	f.Add(Header{Version: 1, ManifestPieces: 2048}.encode())
	f.Add(Header{Version: 2, Encrypted: true, ManifestPieces: 3, Owner: make([]byte, 32)}.encode())
	f.Add([]byte("cairn"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			return
		}
		if again, err := DecodeHeader(h.encode()); err != nil || !again.Equal(h) {
			t.Errorf("header %+v re-decodes as %+v, %v", h, again, err)
		}
	})
}

func FuzzDecodePBNode(f *testing.F) {
	leaf := newBlock(0x55, []byte("leaf"))
	f.Add(pbNode{links: []link{{cid: leaf.Cid(), size: 4}}, data: []byte("d")}.encode())
	f.Add(pbNode{data: Header{Version: 1, ManifestPieces: 1}.encode()}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodePBNode(b)
		if err != nil {
			return
		}
		if _, err := decodePBNode(n.encode()); err != nil {
			t.Errorf("re-decode of an accepted node failed: %v", err)
		}
	})
}

func FuzzBoundOwner(f *testing.F) {
	store := newMemStore()
	for _, opts := range []AddOptions{{}, {Unencrypted: true, OwnerSecret: [32]byte{1}}} {
		res, err := Add(context.Background(), NewReaderSource("f", bytes.NewReader([]byte("x"))), testSecret(1), store, opts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(res.Root.Bytes(), store.blocks[res.Root])
	}
	v1 := pbNode{links: []link{{cid: newBlock(0x55, []byte("m")).Cid(), size: 1}}, data: Header{Version: 1, ManifestPieces: 1}.encode()}.encode()
	f.Add(sumCID(0x70, v1).Bytes(), v1)
	f.Fuzz(func(t *testing.T, rootBytes, raw []byte) {
		_, root, err := cid.CidFromBytes(rootBytes)
		if err != nil {
			return
		}
		owner, err := BoundOwner(root, raw)
		if err != nil {
			if owner != nil {
				t.Errorf("BoundOwner returned key %x with error %v", owner, err)
			}
			return
		}
		if len(raw) > MaxRootSize || len(owner) != 32 || !sumCID(0x70, raw).Equals(root) {
			t.Errorf("BoundOwner accepted %d bytes for %s with a %d-byte key", len(raw), root, len(owner))
		}
	})
}
