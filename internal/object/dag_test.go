package object

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	upb "github.com/ipfs/boxo/ipld/unixfs/pb"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/multiformats/go-multihash"
)

// TestPublicObjectIsUnixFS: a public add is a DAG object whose DAG any
// UnixFS reader (here boxo's, which Kubo uses) reads without Cairn.
func TestPublicObjectIsUnixFS(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(3<<20+5, 7)
	store := newMemStore()
	res := addBytes(t, store, "photo.jpg", data, testSecret(1), AddOptions{Unencrypted: true, OwnerSecret: ownerSecret(1)})
	if res.Encrypted || res.Capability.Encrypted() {
		t.Fatalf("public object reported encrypted")
	}
	h, err := Stat(ctx, res.Root, store)
	if err != nil || !h.DAG || h.Encrypted || !h.Owner.Equal(res.Owner) {
		t.Fatalf("header = %+v (%v), want a DAG object bound to the owner", h, err)
	}
	dag, name, ok, err := DAGRoot(ctx, res.Root, store)
	if err != nil || !ok || name != "photo.jpg" {
		t.Fatalf("DAGRoot = %s %q %v %v", dag, name, ok, err)
	}
	ds := &dagService{g: store}
	n, err := ds.Get(ctx, dag)
	if err != nil {
		t.Fatal(err)
	}
	r, err := uio.NewDagReader(ctx, n, ds)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(r); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("UnixFS read gives %d bytes (%v), want the %d added", got.Len(), err, len(data))
	}
	o, err := Open(ctx, res.Capability, store)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(readAll(t, o, "photo.jpg"), data) {
		t.Fatalf("Open reads other bytes")
	}
}

// TestDAGObjectsConverge: the same owner wrapping the same files gets the
// same object; another owner gets its own object over the same DAG.
func TestDAGObjectsConverge(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(100, 3)
	store := newMemStore()
	a1 := addBytes(t, store, "f", data, testSecret(1), AddOptions{Unencrypted: true, OwnerSecret: ownerSecret(1)})
	a2 := addBytes(t, store, "f", data, testSecret(1), AddOptions{Unencrypted: true, OwnerSecret: ownerSecret(1)})
	b := addBytes(t, store, "f", data, testSecret(2), AddOptions{Unencrypted: true, OwnerSecret: ownerSecret(2)})
	if !a1.Root.Equals(a2.Root) {
		t.Errorf("one owner, one file: roots %s and %s differ", a1.Root, a2.Root)
	}
	if a1.Root.Equals(b.Root) || a1.Owner.Equal(b.Owner) {
		t.Errorf("two owners share a root or an owner key")
	}
	da, _, _, _ := DAGRoot(ctx, a1.Root, store)
	db, _, _, _ := DAGRoot(ctx, b.Root, store)
	if !da.Equals(db) {
		t.Errorf("two owners' DAGs of one file differ: %s and %s", da, db)
	}
	for _, r := range []Result{a1, b} {
		root, _ := store.Get(ctx, r.Root)
		if _, err := BoundOwner(r.Root, root.RawData()); err != nil {
			t.Errorf("BoundOwner: %v", err)
		}
	}
	if _, err := OwnerKey(ownerSecret(2), mustGet(t, store, a1.Root)); !errors.Is(err, ErrNotObjectOwner) {
		t.Errorf("owner 2 derives owner 1's key: %v", err)
	}
	// A salt makes another object of the same owner over the same DAG.
	salted := addBytes(t, store, "f", data, testSecret(1), AddOptions{Unencrypted: true, OwnerSecret: ownerSecret(1), Salt: []byte("again")})
	ds, _, _, _ := DAGRoot(ctx, salted.Root, store)
	if salted.Root.Equals(a1.Root) || !ds.Equals(da) {
		t.Errorf("salted: root %s (unsalted %s), DAG %s (unsalted %s)", salted.Root, a1.Root, ds, da)
	}
	if _, err := OwnerKey(ownerSecret(1), mustGet(t, store, salted.Root)); err != nil {
		t.Errorf("the owner cannot derive the salted object's key: %v", err)
	}
}

func mustGet(t *testing.T, store *memStore, c cid.Cid) []byte {
	t.Helper()
	b, err := store.Get(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return b.RawData()
}

// TestDAGHeaderRejects: roots that claim the DAG flag but break its rules.
func TestDAGHeaderRejects(t *testing.T) {
	leaf := newBlock(cid.Raw, []byte("x"))
	owner := make([]byte, 32)
	cases := map[string]pbNode{
		"encrypted": {links: []link{{cid: leaf.Cid()}}, data: append([]byte{'c', 'a', 'i', 'r', 'n', 2, flagDAG | flagEncrypted, 0}, owner...)},
		"pieces":    {links: []link{{cid: leaf.Cid()}}, data: append([]byte{'c', 'a', 'i', 'r', 'n', 2, flagDAG, 1}, owner...)},
		"two links": {links: []link{{cid: leaf.Cid()}, {cid: leaf.Cid()}}, data: append([]byte{'c', 'a', 'i', 'r', 'n', 2, flagDAG, 0}, owner...)},
		"version 1": {links: []link{{cid: leaf.Cid()}}, data: []byte{'c', 'a', 'i', 'r', 'n', 1, flagDAG, 0}},
	}
	for name, n := range cases {
		b := newBlock(cid.DagProtobuf, n.encode())
		if _, err := BoundOwner(b.Cid(), b.RawData()); !errors.Is(err, ErrNotCairnObject) && !errors.Is(err, ErrCorruptBlock) {
			t.Errorf("%s: BoundOwner = %v, want a rejection", name, err)
		}
	}
}

// TestWalkDAG: imported DAGs are walked without trusting them.
func TestWalkDAG(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	put := func(n *merkledag.ProtoNode) cid.Cid {
		t.Helper()
		if err := store.Put(ctx, n); err != nil {
			t.Fatal(err)
		}
		return n.Cid()
	}
	wrap := func(dag cid.Cid) cid.Cid {
		t.Helper()
		b, _, err := WrapDAG(ownerSecret(1), dag, "", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = store.Put(ctx, b)
		return b.Cid()
	}

	t.Run("shared subtrees are walked once", func(t *testing.T) {
		leaf := merkledag.NewRawNode([]byte("leaf"))
		_ = store.Put(ctx, leaf)
		var top ipld.Node = leaf
		for range 40 { // 2^40 paths, 41 distinct blocks
			n := merkledag.NodeWithData(unixfs.FilePBData(nil, 0))
			for range 2 {
				if err := n.AddNodeLink("", top); err != nil {
					t.Fatal(err)
				}
			}
			put(n)
			top = n
		}
		links, err := Links(ctx, wrap(top.Cid()), store)
		if err != nil || len(links) != 42 {
			t.Fatalf("Links = %d blocks (%v), want 42", len(links), err)
		}
	})
	t.Run("CIDv0 and sha2-512 are walked", func(t *testing.T) {
		leaf, _ := merkledag.NewRawNodeWPrefix([]byte("512"), cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_512, MhLength: -1})
		_ = store.Put(ctx, leaf)
		n := merkledag.NodeWithData(unixfs.FilePBData(nil, 0)) // CIDv0
		_ = n.AddNodeLink("", leaf)
		links, err := Links(ctx, wrap(put(n)), store)
		if err != nil || len(links) != 3 {
			t.Fatalf("Links = %v (%v), want root, node and leaf", links, err)
		}
	})
	t.Run("a dag-cbor block is refused", func(t *testing.T) {
		mh, _ := multihash.Sum([]byte{0xa0}, multihash.SHA2_256, -1)
		n := merkledag.NodeWithData(unixfs.FolderPBData())
		_ = n.AddRawLink("x", &ipld.Link{Cid: cid.NewCidV1(cid.DagCBOR, mh)})
		if _, err := Links(ctx, wrap(put(n)), store); !errors.Is(err, ErrUnsupportedDAG) {
			t.Fatalf("Links = %v, want ErrUnsupportedDAG", err)
		}
		if _, _, err := WrapDAG(ownerSecret(1), cid.NewCidV1(cid.DagCBOR, mh), "", 0, nil); !errors.Is(err, ErrUnsupportedDAG) {
			t.Fatalf("WrapDAG of a dag-cbor root = %v, want ErrUnsupportedDAG", err)
		}
	})
	t.Run("a corrupt block is caught", func(t *testing.T) {
		leaf := merkledag.NewRawNode([]byte("will rot"))
		_ = store.Put(ctx, leaf)
		n := merkledag.NodeWithData(unixfs.FilePBData(nil, 0))
		_ = n.AddNodeLink("", leaf)
		child := merkledag.NodeWithData(unixfs.FilePBData(nil, 0))
		_ = child.AddNodeLink("", n)
		root := wrap(put(child))
		put(n)
		store.corrupt(n.Cid())
		if _, err := Links(ctx, root, store); !errors.Is(err, ErrCorruptBlock) {
			t.Fatalf("Links = %v, want ErrCorruptBlock", err)
		}
	})
}

// TestOpenDAGRefusesEscapingNames: a UnixFS directory naming an entry
// ".." (built by hand: no honest importer writes one) does not open.
func TestOpenDAGRefusesEscapingNames(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	file := merkledag.NewRawNode([]byte("evil"))
	_ = store.Put(ctx, file)
	dir := merkledag.NodeWithData(unixfs.FolderPBData())
	_ = dir.AddNodeLink("..", file)
	_ = store.Put(ctx, dir)
	root, _, err := WrapDAG(ownerSecret(1), dir.Cid(), "d", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = store.Put(ctx, root)
	if _, err := Open(ctx, Capability{root: root.Cid()}, store); !errors.Is(err, ErrCorruptBlock) {
		t.Fatalf("Open = %v, want ErrCorruptBlock", err)
	}
	fsn, _ := unixfs.FSNodeFromBytes(dir.Data())
	if fsn.Type() != upb.Data_Directory {
		t.Fatalf("test setup: not a directory")
	}
}

// TestOldPublicObjectsStillOpen: objects added --unencrypted before public
// objects were UnixFS (a plaintext manifest under a Cairn root) open.
func TestOldPublicObjectsStillOpen(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	opts := AddOptions{Unencrypted: true, OwnerSecret: ownerSecret(1)}
	if err := opts.normalize(); err != nil {
		t.Fatal(err)
	}
	secret := testSecret(1)
	data := randomBytes(1<<20, 9)
	res, err := newAdder(store, &secret, opts).run(ctx, NewReaderSource("old.bin", bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := Stat(ctx, res.Root, store); err != nil || h.DAG || h.Encrypted {
		t.Fatalf("the old layout: %+v %v", h, err)
	}
	o, err := Open(ctx, res.Capability, store)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(readAll(t, o, "old.bin"), data) {
		t.Fatal("an old public object reads other bytes")
	}
}

// TestOpenDAGIsBounded: directories that each link the next one twice
// list 2^depth entries; the listing stops at maxDAGEntries with an error
// instead of exhausting memory. Identical directories in two places, as
// honest trees have, open.
func TestOpenDAGIsBounded(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	put := func(n *merkledag.ProtoNode) { _ = store.Put(ctx, n) }
	empty := merkledag.NodeWithData(unixfs.FolderPBData())
	put(empty)
	twins := merkledag.NodeWithData(unixfs.FolderPBData())
	_ = twins.AddNodeLink("a", empty)
	_ = twins.AddNodeLink("b", empty)
	put(twins)
	open := func(top *merkledag.ProtoNode) error {
		root, _, err := WrapDAG(ownerSecret(1), top.Cid(), "d", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = store.Put(ctx, root)
		_, err = Open(ctx, PublicCapability(root.Cid()), store)
		return err
	}
	if err := open(twins); err != nil {
		t.Fatalf("two identical empty directories: %v", err)
	}
	defer func(n int) { maxDAGEntries = n }(maxDAGEntries)
	maxDAGEntries = 10000 // the real bound costs seconds to reach
	top := twins
	for range 24 { // 2^25 paths
		d := merkledag.NodeWithData(unixfs.FolderPBData())
		_ = d.AddNodeLink("a", top)
		_ = d.AddNodeLink("b", top)
		put(d)
		top = d
	}
	if err := open(top); !errors.Is(err, ErrUnsupportedDAG) {
		t.Fatalf("Open of a DAG listing 2^25 entries = %v, want ErrUnsupportedDAG", err)
	}
}

// TestDAGOwnerKeysAreApart: a DAG root forged from another object's links
// (link 0 as its DAG, link 1's bytes as its salt, that object's owner key
// in its header) does not derive to the owner's key: DAG objects seed
// their keys under their own domain.
func TestDAGOwnerKeysAreApart(t *testing.T) {
	store := newMemStore()
	res := addBytes(t, store, "secret.txt", []byte("victim data"), testSecret(1), AddOptions{OwnerSecret: ownerSecret(1)})
	n, h, err := parseRoot(mustGet(t, store, res.Root))
	if err != nil || len(n.links) != 2 {
		t.Fatalf("setup: %v, %d links", err, len(n.links))
	}
	forged := pbNode{links: []link{{cid: n.links[0].cid}},
		data: Header{Version: FormatVersion, DAG: true, Owner: h.Owner, Salt: n.links[1].cid.Bytes()}.encode()}
	if _, err := OwnerKey(ownerSecret(1), newBlock(cid.DagProtobuf, forged.encode()).RawData()); !errors.Is(err, ErrNotObjectOwner) {
		t.Fatalf("the owner's secret derives the forged object's key: %v", err)
	}
}
