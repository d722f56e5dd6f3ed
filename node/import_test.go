package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	carv2 "github.com/ipld/go-car/v2"

	"github.com/cairn-fed/cairn/internal/cartest"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/node/origins"
	"github.com/cairn-fed/cairn/node/repo"
)

// publicFile adds data as a public object on n and returns its DAG's
// blocks, as an export writes them.
func publicFile(t *testing.T, n *Node, data string) (AddResult, cid.Cid, []byte) {
	t.Helper()
	ctx := context.Background()
	added, err := n.Add(ctx, object.NewReaderSource("f.txt", strings.NewReader(data)), AddOptions{Unencrypted: true, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	dag, _ := cid.Decode(added.IPFS)
	var car bytes.Buffer
	if err := n.Export(ctx, dag, &car); err != nil {
		t.Fatal(err)
	}
	return added, dag, car.Bytes()
}

// TestFailedImportTakesBackOnlyItsOwnBlocks: a bundle that fails leaves
// no block behind, but never takes a block another write needs: an add
// of the same file that found the block present, or any write under way
// (its blocks are then taken back at the next start).
func TestFailedImportTakesBackOnlyItsOwnBlocks(t *testing.T) {
	ctx := context.Background()
	source := startTestNode(t, "source")
	data := strings.Repeat("the same file, twice ", 200000) // several blocks
	_, dag, bundle := publicFile(t, source, data)
	a := startTestNode(t, "a")

	t.Run("an add that found the blocks keeps them", func(t *testing.T) {
		ing := a.newIngest()
		if _, err := a.readBundle(ctx, bytes.NewReader(bundle), ing); err != nil {
			t.Fatal(err)
		}
		if err := ing.commit(ctx); err != nil {
			t.Fatal(err)
		}
		// The import will fail; meanwhile the owner adds the same file,
		// whose blocks are all present already.
		done := make(chan AddResult)
		go func() {
			added, err := a.Add(ctx, object.NewReaderSource("f.txt", strings.NewReader(data)), AddOptions{Unencrypted: true, Replicas: 1})
			if err != nil {
				t.Error(err)
			}
			done <- added
		}()
		ing.release() // let the add run to its end, as a concurrent one would
		added := <-done
		ing.abort()
		root, _ := cid.Decode(added.CID)
		if ok, err := a.haveAll(ctx, root); !ok || err != nil {
			t.Fatalf("the failed import took blocks the add needs: complete %v (%v)", ok, err)
		}
	})

	t.Run("a write under way defers taking back to the next start", func(t *testing.T) {
		b := startTestNode(t, "b")
		broken := brokenBundle(t, bundle, dag)
		release := b.writingBlocks() // an add under way
		if _, err := b.Import(ctx, bytes.NewReader(broken), ImportOptions{Replicas: 1}); err == nil {
			t.Fatal("a bundle lacking a block was imported")
		}
		release()
		if n := storedBlocks(t, b); n == 0 {
			t.Fatal("blocks were taken back while another write was under way")
		}
		if err := b.sweepOrphans(ctx); err != nil {
			t.Fatal(err)
		}
		if n := storedBlocks(t, b); n != 0 {
			t.Fatalf("%d blocks of the failed import left after the sweep", n)
		}
	})
}

// brokenBundle is bundle without its last block.
func brokenBundle(t *testing.T, bundle []byte, root cid.Cid) []byte {
	t.Helper()
	br, err := carv2.NewBlockReader(bytes.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	var bs []blocks.Block
	for {
		b, err := br.Next()
		if err != nil {
			break
		}
		bs = append(bs, b)
	}
	return cartest.Bundle(t, []cid.Cid{root}, bs[:len(bs)-1]...)
}

func storedBlocks(t *testing.T, n *Node) int {
	t.Helper()
	ch, err := n.disk.blocks.AllKeysChan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for range ch {
		count++
	}
	return count
}

// TestOneBlockUnderTwoCIDs: a block two DAGs link under different CIDs of
// the same multihash (CIDv0 and CIDv1) is one block; deleting one DAG
// must not hide or remove it from the other.
func TestOneBlockUnderTwoCIDs(t *testing.T) {
	ctx := context.Background()
	n := startTestNode(t, "a")
	leaf := merkledag.NewRawNode([]byte("shared leaf"))
	file := merkledag.NodeWithData(unixfs.FilePBData(nil, 0)) // CIDv0
	if err := file.AddNodeLink("", leaf); err != nil {
		t.Fatal(err)
	}
	v1 := cid.NewCidV1(cid.DagProtobuf, file.Cid().Hash())
	dir := func(name string, c cid.Cid) *merkledag.ProtoNode {
		d := merkledag.NodeWithData(unixfs.FolderPBData())
		if err := d.AddRawLink(name, &ipld.Link{Cid: c}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := dir("a", file.Cid()), dir("b", v1)
	first, err := n.Import(ctx, bytes.NewReader(cartest.Bundle(t, []cid.Cid{a.Cid()}, a, file, leaf)), ImportOptions{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Import(ctx, bytes.NewReader(cartest.Bundle(t, []cid.Cid{b.Cid()}, b)), ImportOptions{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Delete(ctx, first.CID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []cid.Cid{v1, file.Cid(), leaf.Cid()} {
		if !n.serves(c) {
			t.Errorf("deleting one DAG hid %s, which the other uses", c)
		}
	}
}

// TestTakedownHoldsAgainstAPinOfItsDAG: pinning the DAG of a public object
// the federation authority took down, whose blocks are still here, does
// not bring it back as a new object.
func TestTakedownHoldsAgainstAPinOfItsDAG(t *testing.T) {
	ctx := context.Background()
	a, b := federatedPair(t, nil)
	added, err := b.Add(ctx, object.NewReaderSource("poster.txt", strings.NewReader("contested")), AddOptions{Unencrypted: true, Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitKnown(t, a, added.CID)
	if _, err := a.Takedown(ctx, added.CID, "court order 12", false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b to apply the takedown", func() bool { return b.isDeleted(added.CID) })
	dag, _ := cid.Decode(added.IPFS)
	if _, err := b.Pin(ctx, dag, PinOptions{Replicas: 1}); !errors.Is(err, ErrDeleted) || !strings.Contains(err.Error(), "took down") {
		t.Fatalf("a pin of a taken-down DAG: %v", err)
	}
}

// TestMembersRefuseTheOriginsHost: the host that fetches from IPFS peers
// is a stranger to the federation: asked to fetch from a member, it gets
// nothing (the member refuses it, and speaks only /cairn protocols).
func TestMembersRefuseTheOriginsHost(t *testing.T) {
	ctx := context.Background()
	_, b := federatedPair(t, nil)
	added, err := b.Add(ctx, object.NewReaderSource("notice.txt", strings.NewReader("members only")), AddOptions{Unencrypted: true, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := startNode(t, "c", slog.New(slog.DiscardHandler), func(r *repo.Repo) {
		r.Config.Fetch.StallTimeout.Duration = time.Second
	})
	dag, _ := cid.Decode(added.IPFS)
	_, err = c.Pin(ctx, dag, PinOptions{Origins: b.ID().Addrs[:1], Replicas: 1})
	if !errors.Is(err, origins.ErrNoOrigin) {
		t.Fatalf("a pin from a member through the origins host: %v, want ErrNoOrigin", err)
	}
	if n := storedBlocks(t, c); n != 0 {
		t.Fatalf("the refused pin left %d blocks", n)
	}
}
