package deletions

import (
	"bytes"

	"github.com/cairn-fed/cairn/tombstone"
)

// Tombstones that arrive before this node knows their object's owner key
// wait in memory, bounded in all, per object and per sending peer, and are
// applied (so verified) when the object's attestations arrive.

// Bounds on the tombstones waiting: in all; per object from one peer
// (gossip repeats, a few versions suffice, and one member's junk for an
// object never crowds out another member's tombstone for it); per sending
// peer (one member cannot crowd out others).
const (
	maxPendingTombstones = 10000
	maxPendingPerObject  = 4
	maxPendingPerPeer    = 1000
)

// waiting holds the tombstones waiting for their owner key. Guarded by
// State.mu.
type waiting struct {
	byObject  map[string][]Pending
	byPeer    map[string]int // how many wait from each sending peer
	fromPeers int            // how many wait from peers (not own storage): at most maxPendingTombstones
}

func newWaiting() waiting {
	return waiting{byObject: map[string][]Pending{}, byPeer: map[string]int{}}
}

// add keeps p unless a bound says no (see the constants above) or the same
// tombstone already waits from the same peer.
func (w *waiting) add(p Pending) {
	if p.From != "" && (w.fromPeers >= maxPendingTombstones || w.byPeer[p.From] >= maxPendingPerPeer) {
		return
	}
	t, same := p.Tombstone, 0
	for _, q := range w.byObject[t.Object] {
		if q.From != p.From {
			continue
		}
		if q.Tombstone.Kind == t.Kind && q.Tombstone.Version == t.Version && bytes.Equal(q.Tombstone.Signature, t.Signature) {
			return // gossip repeats
		}
		same++
	}
	if p.From != "" && same >= maxPendingPerObject {
		return
	}
	w.byObject[t.Object] = append(w.byObject[t.Object], p)
	if p.From != "" {
		w.byPeer[p.From]++
		w.fromPeers++
	}
}

// take removes and returns the tombstones waiting for obj.
func (w *waiting) take(obj string) []Pending {
	ps := w.byObject[obj]
	delete(w.byObject, obj)
	for _, p := range ps {
		if p.From == "" {
			continue
		}
		w.fromPeers--
		if w.byPeer[p.From]--; w.byPeer[p.From] <= 0 {
			delete(w.byPeer, p.From)
		}
	}
	return ps
}

// Pending is a tombstone waiting for its object's owner key, and the peer
// it came from (empty: this node's own storage).
type Pending struct {
	Tombstone tombstone.Tombstone
	From      string
}

// AwaitOwner keeps a tombstone whose object's owner is not known yet, to
// be applied (and so verified) when the object's attestations arrive. It
// keeps at most maxPendingPerPeer from one peer: what is dropped comes
// again with the periodic tombstone anti-entropy.
func (s *State) AwaitOwner(t tombstone.Tombstone, from string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.awaitOwnerLocked(t, from)
}

// awaitOwnerLocked is AwaitOwner for callers that hold s.mu.
func (s *State) awaitOwnerLocked(t tombstone.Tombstone, from string) {
	s.pending.add(Pending{t, from})
}

// TakePending removes and returns the tombstones waiting for obj.
func (s *State) TakePending(obj string) []Pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending.take(obj)
}
