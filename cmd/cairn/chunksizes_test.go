package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/internal/sizeguess"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/blockstore"
	"github.com/cairn-fed/cairn/node/repo"
	"github.com/ipfs/go-cid"
)

// TestChunkSizesRevealNothing: two owners add the same 20 MB file to a
// federation of three daemons, and the third daemon holds both objects.
// The sizes of the data block files on the holder's disk must not reveal
// the file: a guess computed with the public chunker (sealed = chunk + 16
// bytes, as in format version 1) matches none of them, and the two
// owners' objects share no run of sizes longer than chance. Two padded
// sizes of unrelated chunks are equal about one time in 21, so among
// ~35 x 35 alignments chance gives a shared run of 3 about one time in
// 8 and of 5 about one time in 3,000; the same unpadded cut points would
// share the whole sequence. Each daemon has its own random keys, so the
// bound is 4.
func TestChunkSizesRevealNothing(t *testing.T) {
	nodes := []*replNode{
		startReplNode(t, "alice", "alice", "eu", fastReplication),
		startReplNode(t, "bob", "bob", "eu", fastReplication),
		startReplNode(t, "holder", "holder", "us", fastReplication),
	}
	federate(t, nodes)
	data := make([]byte, 20<<20)
	_, _ = rand.NewChaCha8([32]byte{'s', 'i', 'z', 'e', 's'}).Read(data)
	src := filepath.Join(t.TempDir(), "report.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var roots []string
	for _, owner := range nodes[:2] {
		var added node.AddResult
		cairnJSON(t, owner.repo, &added, "add", src, "--replicas", "3")
		roots = append(roots, added.CID)
	}
	for i, root := range roots {
		waitFor(t, 60*time.Second, "both objects backed up on all three nodes", backedUp(t, nodes[i], root, ""))
	}
	holder := nodes[2]
	holder.d.stop() // read its disk at rest
	a, b := holderDataSizes(t, holder.repo, roots[0]), holderDataSizes(t, holder.repo, roots[1])
	// What anyone computes from the guessed file: the public chunker's
	// sizes, each with 16 bytes of AEAD tag.
	public, err := sizeguess.PublicChunks(data)
	if err != nil {
		t.Fatal(err)
	}
	guess := sizeguess.Map(public, func(n int) int { return n + 16 })
	matchA, matchB := sizeguess.Matching(a, guess), sizeguess.Matching(b, guess)
	run := sizeguess.LongestRun(a, b)
	t.Logf("holder's data blocks: %d and %d; public-chunker guess (%d chunks) matches %d and %d; longest run shared by the owners: %d", len(a), len(b), len(guess), matchA, matchB, run)
	if matchA != 0 || matchB != 0 {
		t.Errorf("a guessed file's sizes match %d of %d and %d of %d stored blocks, want 0", matchA, len(a), matchB, len(b))
	}
	if run > 4 || slices.Equal(a, b) {
		t.Errorf("the two owners' objects share a run of %d block sizes, want at most 4", run)
	}
	faultRow(t, "chunk sizes: same 20 MB file added by two owners; guessed file vs a holder's stored sizes (longest run of sizes the two objects share)",
		fmt.Sprintf("matching block sizes: %d of %d, %d of %d (run %d)", matchA, len(a), matchB, len(b), run), "0, 0")
}

// holderDataSizes returns the sizes of the data block files of the object
// root in a stopped node's store, in file order: Walk lists the manifest
// tree first, so the raw leaves after the first ManifestPieces are data.
func holderDataSizes(t *testing.T, repoDir, root string) []int {
	t.Helper()
	ctx := context.Background()
	bs, err := blockstore.Open(filepath.Join(repoDir, repo.BlocksDir), blockstore.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cid.Decode(root)
	if err != nil {
		t.Fatal(err)
	}
	h, err := object.Stat(ctx, rc, bs)
	if err != nil {
		t.Fatalf("stat %s on the holder: %v", root, err)
	}
	var sizes []int
	pieces := 0
	err = object.Walk(ctx, rc, bs, func(c cid.Cid) error {
		if c.Type() != cid.Raw {
			return nil
		}
		if pieces < h.ManifestPieces {
			pieces++
			return nil
		}
		size, err := bs.GetSize(ctx, c) // one stat of the block file
		sizes = append(sizes, size)
		return err
	})
	if err != nil {
		t.Fatalf("walk %s on the holder: %v", root, err)
	}
	return sizes
}
