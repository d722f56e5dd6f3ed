package deletions

import (
	"time"

	"github.com/cairn-fed/cairn/tombstone"
)

// Progress is how far obj's deletion has reached among its holders at
// deletion; lastSeen tells when a holder was last heard from (now, if
// connected), and is called without the lock held.
func (s *State) Progress(obj string, now time.Time, lastSeen func(holder string) (time.Time, bool)) tombstone.Progress {
	s.mu.Lock()
	holders := s.holders[obj]
	deleted := s.set.IsDeleted(obj)
	s.mu.Unlock()
	if !deleted {
		return tombstone.Progress{Object: obj, Now: now}
	}
	seen := map[string]time.Time{}
	for _, h := range holders {
		if at, ok := lastSeen(h); ok {
			seen[h] = at
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set.Progress(obj, holders, seen, now)
}

// Health is the deletion side of cairn health and /metrics.
type Health struct {
	// Pending counts deletions that some holder has not acknowledged.
	Pending int
	// Lag is how long the oldest of them has been waiting; 0 when none.
	Lag time.Duration
	// Laggards are holders past tombstone.Config.AckTimeout.
	Laggards []tombstone.Laggard
}

// Health counts the deletions some holder has not acknowledged, how long
// the oldest has waited, and the holders past the acknowledgement timeout.
func (s *State) Health(now time.Time) Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	var h Health
	for _, t := range s.set.Tombstones() {
		if !t.Deleted || !s.set.IsDeleted(t.Object) {
			continue
		}
		p := s.set.Progress(t.Object, s.holders[t.Object], nil, now)
		if p.DeletedOn < p.Holders {
			h.Pending++
			h.Lag = max(h.Lag, now.Sub(t.IssuedAt))
		}
	}
	h.Laggards = s.set.Laggards(now, func(obj string) []string { return s.holders[obj] })
	return h
}
