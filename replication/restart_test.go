package replication

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// Restarts in the simulated network: a node persists its ledger as
// node/ledgerstore.go does, stops (its peers see the connection close),
// and starts again with a fresh core restored from what it stored, its
// connections coming back only after a while, as a daemon's do.

type recordKey struct {
	obj    ObjectID
	holder PeerID
}

// store keeps a as the node's persisted record of its holder's copy.
func (n *simNode) store(a Attestation) {
	k := recordKey{a.Object, a.Holder}
	if old, ok := n.stored[k]; ok && old.Seq >= a.Seq {
		return
	}
	n.stored[k] = a
}

// stop shuts node id down as SIGTERM does: every live peer sees its
// connection close.
func (s *sim) stop(id PeerID) {
	s.byID[id].killed = true
	for _, o := range s.nodes {
		if !o.killed {
			o.core.PeerDown(id, s.now)
		}
	}
}

// start brings node id back: a new core restored from its stored
// attestations and the objects on its disk, unreachable for reconnect,
// then connected to every live peer.
func (s *sim) start(id PeerID, reconnect time.Duration) {
	n := s.byID[id]
	core, err := New(simConfig(string(id)), id)
	s.must(err)
	core.SetMembers(s.members, s.now)
	stored := slices.SortedFunc(maps.Values(n.stored), func(a, b Attestation) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Holder, b.Holder))
	})
	for _, a := range stored {
		s.must(core.ReceiveStored(a, s.now))
	}
	for _, obj := range slices.Sorted(maps.Keys(n.blocks)) {
		own := n.stored[recordKey{obj, id}]
		opts := TrackOptions{Leaves: len(n.blocks[obj]), Pinned: own.Pinned}
		if own.Pinned {
			opts.Target = own.Target
		}
		s.must(core.Track(obj, opts, s.now))
	}
	n.core, n.killed, n.isolated = core, false, true
	s.later(reconnect, func() {
		n.isolated = false
		for _, o := range s.nodes {
			if o != n && !o.killed && !o.isolated {
				o.core.PeerUp(id, s.now)
				n.core.PeerUp(o.id, s.now)
			}
		}
	})
}

// fourOperators: four nodes of four operators in two regions, each the
// owner of one object of target 3, backed up everywhere.
func fourOperators(t *testing.T) (*sim, []ObjectID) {
	t.Helper()
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "us"}, {"c", "C", "eu"}, {"d", "D", "us"}})
	var objs []ObjectID
	for _, n := range s.nodes {
		obj := ObjectID(fmt.Sprintf("bafyowned-by-%s", n.id))
		s.add(string(n.id), obj, 3)
		objs = append(objs, obj)
	}
	s.runUntil(10*time.Second, "every object backed up everywhere", func() bool { return s.allBackedUp(objs) })
	return s, objs
}

// allBackedUp reports whether every live node counts exactly 3 copies of
// each of objs and 3 nodes store each.
func (s *sim) allBackedUp(objs []ObjectID) bool {
	for _, obj := range objs {
		if s.copiesEverywhere(obj) != 3 || len(s.holdersWithBlocks(obj)) != 3 {
			return false
		}
	}
	return true
}

// holdersOf records, per object, the nodes that store it.
func (s *sim) holdersOf(objs []ObjectID) map[ObjectID][]PeerID {
	out := map[ObjectID][]PeerID{}
	for _, obj := range objs {
		out[obj] = s.holdersWithBlocks(obj)
	}
	return out
}

// checkSteady fails unless no fetch started after since, the same nodes
// store each object as before, and every node counts 3 verified copies.
func (s *sim) checkSteady(objs []ObjectID, before map[ObjectID][]PeerID, since time.Time) {
	s.t.Helper()
	if f := s.fetchesAfter(since); len(f) != 0 {
		s.t.Errorf("fetches after the restart: %v, want none", f)
	}
	if after := s.holdersOf(objs); !maps.EqualFunc(before, after, slices.Equal) {
		s.t.Errorf("holders before the restart %v, after %v", before, after)
	}
	for _, n := range s.nodes {
		for _, obj := range objs {
			if st := n.core.Status(obj, s.now); st.Copies != 3 || len(verifiedHolders(st)) != 3 {
				s.t.Errorf("%s sees %s with %d copies, holders %+v; want 3 verified", n.id, obj, st.Copies, st.Holders)
			}
		}
	}
}

// TestScenarioFederationRestart: every node stops, one after another as
// SIGTERMs sent in turn stop daemons, and starts again, each reconnecting
// a while after it starts. Nothing is fetched, no copy is added or
// released, and every node counts the same copies as before.
func TestScenarioFederationRestart(t *testing.T) {
	s, objs := fourOperators(t)
	before := s.holdersOf(objs)
	stopped := s.now
	for _, n := range s.nodes {
		s.stop(n.id)
		s.run(300 * time.Millisecond)
	}
	s.run(time.Second)
	var lastStart time.Time
	for _, n := range s.nodes {
		lastStart = s.now
		s.start(n.id, 1500*time.Millisecond)
		s.run(500 * time.Millisecond)
	}
	cfg := simConfig("any")
	s.runUntil(10*time.Second, "every object backed up everywhere", func() bool { return s.allBackedUp(objs) })
	t.Logf("backed up everywhere %s after the last start", s.now.Sub(lastStart))
	s.run(cfg.ReleaseGrace + cfg.RepairEscalation) // long enough for any surplus to show and be released
	s.checkSteady(objs, before, stopped)
}

// TestScenarioLongFederationOutage: the whole federation is down for
// longer than ProofFreshness, so every proof is stale when the nodes come
// back. Repair waits for the members to reconnect and prove their copies
// again instead of fetching surplus copies.
func TestScenarioLongFederationOutage(t *testing.T) {
	s, objs := fourOperators(t)
	before := s.holdersOf(objs)
	stopped := s.now
	for _, n := range s.nodes {
		s.stop(n.id)
	}
	cfg := simConfig("any")
	s.run(10 * cfg.ProofFreshness)
	for _, n := range s.nodes {
		s.start(n.id, 2*time.Second)
		s.run(time.Second)
	}
	s.runUntil(20*time.Second, "every object backed up everywhere", func() bool { return s.allBackedUp(objs) })
	s.run(cfg.ReleaseGrace + cfg.RepairEscalation)
	s.checkSteady(objs, before, stopped)
}

// TestScenarioQuickRestartOfAHolder: a holder down for less than
// RepairGrace, plus the time to reconnect, is not repaired around; one
// down for longer is.
func TestScenarioQuickRestartOfAHolder(t *testing.T) {
	s, objs := fourOperators(t)
	before := s.holdersOf(objs)
	stopped := s.now
	victim := PeerID("b")
	s.stop(victim)
	s.run(time.Second)
	s.start(victim, time.Second)
	cfg := simConfig("any")
	s.runUntil(10*time.Second, "every object backed up everywhere", func() bool { return s.allBackedUp(objs) })
	s.run(cfg.ReleaseGrace + cfg.RepairEscalation)
	s.checkSteady(objs, before, stopped)

	s.stop(victim)
	s.runUntil(cfg.RepairGrace+10*time.Second, "repair around the stopped holder", func() bool {
		return len(s.fetchesAfter(stopped)) > 0
	})
}

// TestScenarioPlacementSkipsALostMember: with a member lost (its peers saw
// it disconnect) and still on the roster, a new object is placed on the
// members that are reachable at once, not after RepairEscalation.
func TestScenarioPlacementSkipsALostMember(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "us"}, {"c", "C", "eu"}, {"d", "D", "us"}})
	s.run(time.Second)
	// An object whose first placement candidates, besides its owner b,
	// include the lost member a.
	var obj ObjectID
	for i := 0; obj == ""; i++ {
		o := ObjectID(fmt.Sprintf("bafynew%d", i))
		if slices.Contains(Targets(o, s.members, 3, "B"), "a") {
			obj = o
		}
	}
	s.stop("a")
	added := s.now
	s.add("b", obj, 3)
	s.runUntil(simConfig("any").RepairEscalation, "backed up without the lost member", func() bool {
		return s.status("b", obj).Copies == 3
	})
	if took := s.now.Sub(added); took > 5*time.Second {
		t.Errorf("backed up %s after the add, want within a few seconds", took)
	}
	t.Logf("backed up %s after the add", s.now.Sub(added))
}
