package deletions

import "github.com/cairn-fed/cairn/tombstone"

// The anti-entropy exchange's view of the set (the node runs the protocol).

// Digest summarises the set for the anti-entropy exchange.
func (s *State) Digest() tombstone.Digest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.Digest()
}

// Listing lists what the set holds in the given digest buckets.
func (s *State) Listing(buckets []int) tombstone.Listing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.Listing(buckets)
}

// Missing answers a peer's listing: the tombstones it lacks, and every
// acknowledgement known for a deleted object.
func (s *State) Missing(remote tombstone.Listing) ([]tombstone.Tombstone, []tombstone.Ack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var acks []tombstone.Ack
	for _, t := range s.set.Tombstones() {
		if t.Deleted {
			acks = append(acks, s.set.Acks(t.Object)...)
		}
	}
	return s.set.Missing(remote), acks
}
