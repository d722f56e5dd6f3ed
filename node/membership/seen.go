package membership

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MarkSeen records that p was connected at.
func (m *Membership) MarkSeen(p peer.ID, at time.Time) { m.seen.mark(p, at) }

// LastSeen tells when p was last connected.
func (m *Membership) LastSeen(p peer.ID) (time.Time, bool) { return m.seen.get(p) }

// seenTracker remembers when each peer was last connected.
type seenTracker struct {
	mu sync.Mutex
	at map[peer.ID]time.Time // guarded by mu
}

func (s *seenTracker) mark(p peer.ID, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = map[peer.ID]time.Time{}
	}
	s.at[p] = at
}

func (s *seenTracker) get(p peer.ID) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[p]
	return t, ok
}
