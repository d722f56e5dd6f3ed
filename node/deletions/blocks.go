package deletions

import (
	"github.com/ipfs/go-cid"

	"github.com/cairn-fed/cairn/node/blockstore"
)

// SetReady lets blocks be served: the stored tombstones are applied and,
// after a long absence, resynchronised.
func (s *State) SetReady() { s.ready.Store(true) }

// Ready reports whether SetReady was called.
func (s *State) Ready() bool { return s.ready.Load() }

// Serves reports whether the block may be handed to peers: never before
// SetReady, never for a block only deleted objects use.
func (s *State) Serves(c cid.Cid) bool {
	if !s.ready.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.blocks.Hidden(blockstore.BlockKey(c))
}

// NoteBlocks records which blocks a kept object uses, for reference
// counting; a live object's blocks are served again even when a deleted
// object shares them.
func (s *State) NoteBlocks(obj string, blocks []cid.Cid) {
	keys := make([]string, len(blocks))
	for i, b := range blocks {
		keys[i] = blockstore.BlockKey(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocks.Note(obj, keys, s.set.IsDeleted(obj))
}

// Used reports whether some kept object uses the block.
func (s *State) Used(c cid.Cid) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocks.Used(blockstore.BlockKey(c))
}

// Unused returns the blocks of cs that no kept object uses.
func (s *State) Unused(cs []cid.Cid) []cid.Cid {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []cid.Cid
	for _, c := range cs {
		if !s.blocks.Used(blockstore.BlockKey(c)) {
			out = append(out, c)
		}
	}
	return out
}

// Remove forgets that obj uses its blocks and returns those no other kept
// object uses, for the caller to delete; Forget each once it is deleted.
func (s *State) Remove(obj string) []cid.Cid {
	s.mu.Lock()
	freed := s.blocks.Remove(obj)
	s.mu.Unlock()
	out := make([]cid.Cid, len(freed))
	for i, key := range freed {
		out[i] = blockstore.KeyCID(key)
	}
	return out
}

// Forget drops a deleted block from the hidden set.
func (s *State) Forget(c cid.Cid) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocks.Forget(blockstore.BlockKey(c))
}

// HideDeleted hides the blocks of every deleted object kept here; it runs
// once the kept objects' block lists are known.
func (s *State) HideDeleted() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.set.Tombstones() {
		if s.set.IsDeleted(t.Object) {
			s.rehideLocked(t.Object)
		}
	}
}

// rehideLocked recomputes which of obj's blocks are hidden: those whose
// every user is deleted. Callers hold s.mu.
func (s *State) rehideLocked(obj string) {
	s.blocks.Rehide(obj, s.set.IsDeleted)
}
