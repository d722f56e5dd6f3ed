package events

import (
	"sync"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// Stats is a copy of the counts the recorder keeps for health and metrics.
type Stats struct {
	Tally netstat.Tally
	// Under counts objects below their target, deleted ones excluded.
	Under int
	// Challenges are this node's challenges since it started, by holder.
	Challenges               []netstat.PeerChallenges
	RepairsOK, RepairsFailed uint64
}

// Stats returns a copy of the counts.
func (o *Observer) Stats() Stats { return o.stats.snapshot() }

// stats are the counts the recorder keeps. The zero value is ready.
type stats struct {
	mu sync.Mutex
	// Guarded by mu.
	tally                    netstat.Tally
	under                    int                                // objects below target, deleted ones excluded
	challenges               map[string]*netstat.PeerChallenges // this node's challenges, by holder
	repairsOK, repairsFailed uint64
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Tally: s.tally, Under: s.under, RepairsOK: s.repairsOK, RepairsFailed: s.repairsFailed,
		Challenges: make([]netstat.PeerChallenges, 0, len(s.challenges))}
	for _, p := range s.challenges {
		out.Challenges = append(out.Challenges, *p)
	}
	return out
}

// moved replaces an object's old view (if had) by its new one (if has)
// in the counts.
func (s *stats) moved(prev seenObject, had bool, cur seenObject, has bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if had {
		s.tally.Remove(prev.state)
		if prev.underReplicated() {
			s.under--
		}
	}
	if has {
		s.tally.Add(cur.state)
		if cur.underReplicated() {
			s.under++
		}
	}
}

// challenged counts one challenge of holder h this node judged at at.
func (s *stats) challenged(h netstat.HolderView, c Check, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.challenges == nil {
		s.challenges = map[string]*netstat.PeerChallenges{}
	}
	p := s.challenges[h.PeerID]
	if p == nil {
		p = &netstat.PeerChallenges{Peer: replication.PeerID(h.PeerID)}
		s.challenges[h.PeerID] = p
	}
	if h.Operator != "" {
		p.Operator, p.Region = h.Operator, h.Region
	}
	if c.Result == replication.ResultPass {
		p.Passed++
		p.ConsecutiveFailures, p.FirstFailureAt = 0, time.Time{}
		return
	}
	p.Failed++
	p.ConsecutiveFailures++
	if p.ConsecutiveFailures == 1 {
		p.FirstFailureAt = at
	}
	p.LastReason = c.Result.Reason()
}

func (s *stats) repairDone(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.repairsOK++
	} else {
		s.repairsFailed++
	}
}
