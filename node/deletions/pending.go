package deletions

import "github.com/cairn-fed/cairn/tombstone"

// Tombstones that arrive before this node knows their object's owner key
// wait in memory, bounded in all, per object and per sending peer, and are
// applied (so verified) when the object's attestations arrive.

// Bounds on the tombstones waiting: in all, per object (gossip repeats,
// a few suffice), per sending peer (one member cannot crowd out others).
const (
	MaxPendingTombstones = 10000
	MaxPendingPerObject  = 4
	MaxPendingPerPeer    = 1000
)

// Pending is a tombstone waiting for its object's owner key, and the peer
// it came from (empty: this node's own storage).
type Pending struct {
	Tombstone tombstone.Tombstone
	From      string
}

// AwaitOwner keeps a tombstone whose object's owner is not known yet, to
// be applied (and so verified) when the object's attestations arrive. It
// keeps at most MaxPendingPerPeer from one peer: what is dropped comes
// again with the periodic tombstone anti-entropy.
func (s *State) AwaitOwner(t tombstone.Tombstone, from string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.awaitOwnerLocked(t, from)
}

// awaitOwnerLocked is AwaitOwner for callers that hold s.mu.
func (s *State) awaitOwnerLocked(t tombstone.Tombstone, from string) {
	if len(s.pending) >= MaxPendingTombstones || len(s.pending[t.Object]) >= MaxPendingPerObject ||
		(from != "" && s.pendingBy[from] >= MaxPendingPerPeer) {
		return
	}
	s.pending[t.Object] = append(s.pending[t.Object], Pending{t, from})
	if from != "" {
		s.pendingBy[from]++
	}
}

// TakePending removes and returns the tombstones waiting for obj.
func (s *State) TakePending(obj string) []Pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.pending[obj]
	delete(s.pending, obj)
	for _, p := range ps {
		if p.From == "" {
			continue
		}
		if s.pendingBy[p.From]--; s.pendingBy[p.From] <= 0 {
			delete(s.pendingBy, p.From)
		}
	}
	return ps
}
