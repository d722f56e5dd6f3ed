package deletions

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// TestServesNothingBeforeReady: no block leaves the node before the stored
// tombstones are applied.
func TestServesNothingBeforeReady(t *testing.T) {
	s := newTestState(t, memStore())
	c := blockCID(t, "x")
	s.NoteBlocks(objA, []cid.Cid{c})
	if s.Serves(c) {
		t.Fatal("a live object's block is served before SetReady")
	}
	s.SetReady()
	if !s.Serves(c) {
		t.Fatal("a live object's block is not served after SetReady")
	}
}

// TestHiddenBlocks: a deleted object's own blocks are hidden, blocks it
// shares with a live object stay served, and an undelete serves them again.
func TestHiddenBlocks(t *testing.T) {
	ctx := context.Background()
	s := newTestState(t, memStore())
	s.SetReady()
	own, shared, other := blockCID(t, "a only"), blockCID(t, "shared"), blockCID(t, "b only")
	s.NoteBlocks(objA, []cid.Cid{own, shared})
	s.NoteBlocks(objB, []cid.Cid{shared, other})
	apply(t, s, ownerTomb(t, objA, 1, true, epoch), epoch)
	if err := s.Applied(ctx, objA, nil); err != nil {
		t.Fatal(err)
	}
	// The same block named by another CID (raw codec, CIDv0) is the same file.
	v0 := cid.NewCidV0(multihash.Multihash(shared.Hash()))
	tests := []struct {
		name  string
		block cid.Cid
		want  bool
	}{
		{"deleted object's own block", own, false},
		{"the deleted object's own block as a raw CID", cid.NewCidV1(cid.Raw, own.Hash()), false},
		{"block shared with a live object", shared, true},
		{"shared block as CIDv0", v0, true},
		{"live object's own block", other, true},
	}
	for _, tt := range tests {
		if got := s.Serves(tt.block); got != tt.want {
			t.Errorf("deleted: %s served = %v, want %v", tt.name, got, tt.want)
		}
	}
	apply(t, s, ownerTomb(t, objA, 2, false, epoch.Add(time.Second)), epoch.Add(time.Second))
	if err := s.Lifted(ctx, objA); err != nil {
		t.Fatal(err)
	}
	if !s.Serves(own) {
		t.Error("undeleted: the object's own block is still hidden")
	}
}

// TestRemoveFreesOnlyUnsharedBlocks: removing an object frees the blocks
// no other kept object uses.
func TestRemoveFreesOnlyUnsharedBlocks(t *testing.T) {
	s := newTestState(t, memStore())
	own, shared := blockCID(t, "a only"), blockCID(t, "shared")
	s.NoteBlocks(objA, []cid.Cid{own, shared})
	s.NoteBlocks(objB, []cid.Cid{shared})
	freed := s.Remove(objA)
	if len(freed) != 1 || !slices.Equal(freed[0].Hash(), own.Hash()) {
		t.Fatalf("freed %v, want only %s", freed, own)
	}
	if s.Used(own) || !s.Used(shared) {
		t.Errorf("after removal: own used %v, shared used %v; want false, true", s.Used(own), s.Used(shared))
	}
	if got := s.Unused([]cid.Cid{own, shared}); len(got) != 1 || !got[0].Equals(own) {
		t.Errorf("Unused = %v, want [%s]", got, own)
	}
}
