package catalog

import (
	"errors"
	"fmt"
	"time"
)

// MaxHeadsPerPublisher bounds the catalogs one member can make the others
// keep heads of. A node publishes its own owner's catalog; a few more
// leave room for an owner who recovered on a new node while the old
// one's head is still attributed to it.
const MaxHeadsPerPublisher = 4

// ErrOverBound means a member published heads of more catalogs than
// MaxHeadsPerPublisher.
var ErrOverBound = errors.New("catalog: the member publishes heads of too many catalogs")

// Heads is the latest head of every catalog, each attributed to the
// member that published it.
type Heads struct {
	byKey        map[string]heldHead
	perMember    map[string]int
	maxPerMember int
}

type heldHead struct {
	head      Head
	publisher string
}

// NewHeads returns an empty set.
func NewHeads() *Heads {
	return &Heads{byKey: map[string]heldHead{}, perMember: map[string]int{}, maxPerMember: MaxHeadsPerPublisher}
}

// Offer takes a head published by member publisher and reports whether it
// comes after the one kept (and is now kept). It verifies the head first;
// a head that does not come after the one kept changes nothing and is no
// error.
func (s *Heads) Offer(h Head, publisher string, now time.Time) (bool, error) {
	if err := h.Verify(now); err != nil {
		return false, err
	}
	key := string(h.Catalog)
	old, known := s.byKey[key]
	if known && !h.After(old.head) {
		return false, nil
	}
	if (!known || old.publisher != publisher) && s.perMember[publisher] >= s.maxPerMember {
		return false, fmt.Errorf("%w (%d)", ErrOverBound, s.maxPerMember)
	}
	if known {
		s.perMember[old.publisher]--
		if s.perMember[old.publisher] == 0 {
			delete(s.perMember, old.publisher)
		}
	}
	s.byKey[key] = heldHead{head: h, publisher: publisher}
	s.perMember[publisher]++
	return true, nil
}

// Get returns the head kept for a catalog key.
func (s *Heads) Get(catalog []byte) (Head, bool) {
	h, ok := s.byKey[string(catalog)]
	return h.head, ok
}

// GetWithPublisher returns the head kept for a catalog key and the member
// it is attributed to.
func (s *Heads) GetWithPublisher(catalog []byte) (Head, string, bool) {
	h, ok := s.byKey[string(catalog)]
	return h.head, h.publisher, ok
}

// Len is the number of catalogs with a head kept.
func (s *Heads) Len() int { return len(s.byKey) }
