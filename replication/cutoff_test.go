package replication

import (
	"slices"
	"testing"
	"time"
)

// TestCutOffNodeStartsNoFetches: a member cut off from every other member
// sees every holder of an object it does not hold unreachable, the object
// short of its target, and itself as the only reachable candidate. It
// must not start fetches that have nowhere to come from (the core
// simulation at 100 nodes saw one cut-off node start 151,000 failed
// fetches in under three minutes). When a holder is reachable again the
// object is fetched from it, ReconnectGrace after that first connection
// back: until then the other holders may only be slower to reconnect
// (TestRejoinHoldsRepair).
func TestCutOffNodeStartsNoFetches(t *testing.T) {
	s, objs := fourOperators(t)
	s.run(simConfig("any").ReconnectGrace) // past the hold after start
	d := s.byID["d"]
	var obj ObjectID // held by a, b and c
	for _, o := range objs {
		if !slices.Contains(s.holdersWithBlocks(o), d.id) {
			obj = o
		}
	}
	s.isolate(d)
	cut := s.now
	s.run(5 * time.Minute)
	if n := s.fetchesBy(d.id, cut); n > 0 {
		t.Errorf("cut off for 5 min, d started %d fetches, want none", n)
	}
	if st := d.core.Status(obj, s.now); st.Copies != 0 {
		t.Fatalf("d counts %d copies of %s while cut off, want 0", st.Copies, obj)
	}

	// Two of the three holders die while d is away; the third comes
	// back: d is the next candidate and fetches from it once the
	// ReconnectGrace of its return has passed.
	for _, p := range s.holdersWithBlocks(obj) {
		if p != "a" {
			s.stop(p)
		}
	}
	d.isolated = false
	back := s.now
	s.connect(d, s.byID["a"])
	grace := simConfig("any").ReconnectGrace
	s.runUntil(grace+5*time.Second, "d fetching the object from a", func() bool { return d.core.Holds(obj) })
	if f := s.fetchesAfter(back); len(f) == 0 || f[0].node != d.id || f[0].obj != obj {
		t.Errorf("fetches after a came back: %+v, want d fetching %s first", f, obj)
	} else if f[0].at.Sub(back) < grace {
		t.Errorf("d fetched %s after its return, want at least ReconnectGrace (%s)", f[0].at.Sub(back), grace)
	}
}

// isolate cuts n off from every other node; each side sees the other's
// connection close.
func (s *sim) isolate(n *simNode) {
	n.isolated = true
	for _, o := range s.nodes {
		if o != n && !o.killed {
			o.core.PeerDown(n.id, s.now)
			n.core.PeerDown(o.id, s.now)
		}
	}
}

// connect reports a connection between a and b to both.
func (s *sim) connect(a, b *simNode) {
	a.core.PeerUp(b.id, s.now)
	b.core.PeerUp(a.id, s.now)
}

// fetchesBy counts the fetches node id started after t.
func (s *sim) fetchesBy(id PeerID, after time.Time) int {
	n := 0
	for _, f := range s.fetchesAfter(after) {
		n += b2i(f.node == id)
	}
	return n
}
