package object

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/internal/sizeguess"
)

// dataLeafSizes returns the sizes of an object's stored data leaves in
// file order, as a holder sees them on its disk.
func dataLeafSizes(t *testing.T, store *memStore, root cid.Cid) []int {
	t.Helper()
	n, _, err := getRoot(context.Background(), store, root)
	if err != nil || len(n.links) != 2 {
		t.Fatalf("root %s: %v, %d links", root, err, len(n.links))
	}
	var sizes []int
	err = walkLinks(context.Background(), store, pbNode{links: n.links[1:]}, 0, func(c cid.Cid) error {
		if c.Prefix() == leafPrefix {
			sizes = append(sizes, len(store.blocks[c]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sizes
}

// TestSizesRevealNothing is the attack: a storage peer holds an owner's
// blocks and guesses the file. With the public chunker and sealed = chunk
// + 16 (format version 1) the guessed sizes match every stored block;
// in version 2 they match none, two owners storing the same file share no
// run of sizes, and even a guess that knows the padding matches no run
// longer than chance: two padded sizes of unrelated chunks are equal about
// one time in 21, so among ~35 x 35 alignments a shared run of 3 comes by
// chance about one time in 8, of 5 about one time in 3,000 (the bound 4
// holds for any keys, not only these).
func TestSizesRevealNothing(t *testing.T) {
	data := randomBytes(20<<20, 12)
	public, err := sizeguess.PublicChunks(data)
	if err != nil {
		t.Fatal(err)
	}
	naive := sizeguess.Map(public, func(n int) int { return n + sealOverhead })
	padded := sizeguess.Map(public, sealedChunkSize)
	store := newMemStore()
	a := dataLeafSizes(t, store, addBytes(t, store, "f", data, testSecret(1), AddOptions{OwnerSecret: ownerSecret(1)}).Root)
	b := dataLeafSizes(t, store, addBytes(t, store, "f", data, testSecret(2), AddOptions{OwnerSecret: ownerSecret(2)}).Root)
	for name, stored := range map[string][]int{"owner 1": a, "owner 2": b} {
		if got := sizeguess.Matching(stored, naive); got != 0 {
			t.Errorf("%s: %d of %d stored sizes match the public chunker + 16, want 0", name, got, len(stored))
		}
		if got := sizeguess.LongestRun(stored, padded); got > 4 {
			t.Errorf("%s: a padding-aware guess matches a run of %d stored sizes, want at most 4", name, got)
		}
	}
	if got := sizeguess.LongestRun(a, b); got > 4 || slices.Equal(a, b) {
		t.Errorf("two owners' stored sizes share a run of %d (of %d and %d), want at most 4", got, len(a), len(b))
	}
	t.Logf("%d and %d data blocks; naive guess matches %d and %d; longest run shared with the padded guess %d and %d, between owners %d",
		len(a), len(b), sizeguess.Matching(a, naive), sizeguess.Matching(b, naive), sizeguess.LongestRun(a, padded), sizeguess.LongestRun(b, padded), sizeguess.LongestRun(a, b))
}

// TestDedupWithinOwner: keyed cut points and padding keep deduplication
// for one owner (TestDedup checks a 1-byte insert; this checks an edit in
// the middle with a real owner secret).
func TestDedupWithinOwner(t *testing.T) {
	store := newMemStore()
	data := randomBytes(10<<20, 13)
	opts := AddOptions{OwnerSecret: ownerSecret(1)}
	first := addBytes(t, store, "f", data, testSecret(1), opts)
	n := store.len()
	if again := addBytes(t, store, "f", data, testSecret(1), opts); !again.Root.Equals(first.Root) || store.len() != n {
		t.Errorf("re-adding the same file: root %s and %d new blocks, want %s and 0", again.Root, store.len()-n, first.Root)
	}
	edited := bytes.Clone(data)
	copy(edited[5<<20:], "an edit in the middle of the file")
	third := addBytes(t, store, "f", edited, testSecret(1), opts)
	if added := store.len() - n; added > 5 { // 1-2 chunks, their tree node, manifest piece, root
		t.Errorf("an edit in the middle of %d chunks stored %d new blocks, want at most 5", third.Chunks, added)
	}
}
