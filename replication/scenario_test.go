package replication

import (
	"errors"
	"slices"
	"testing"
	"time"
)

const obj1 ObjectID = "bafyobject1"

// placed adds obj1 with R=3 on a1 and waits until every live node sees
// three verified operators.
func placed(t *testing.T) *sim {
	t.Helper()
	s := fiveNodes(t)
	s.add("a1", obj1, 3)
	s.runUntil(10*time.Second, "backed up everywhere", func() bool { return s.copiesEverywhere(obj1) == 3 })
	return s
}

// copiesEverywhere returns the copies every live node agrees on, or -1.
func (s *sim) copiesEverywhere(obj ObjectID) int {
	got := -1
	for _, n := range s.nodes {
		if n.killed || n.isolated {
			continue
		}
		c := n.core.Status(obj, s.now).Copies
		if got >= 0 && c != got {
			return -1
		}
		got = c
	}
	return got
}

func TestScenarioPlacementDistinctOperators(t *testing.T) {
	s := placed(t)
	holders := s.holdersWithBlocks(obj1)
	ops := map[string]bool{}
	for _, p := range holders {
		ops[s.byID[p].member.Operator] = true
	}
	if len(holders) != 3 || len(ops) != 3 {
		t.Fatalf("holders %v on operators %v, want 3 holders on 3 operators", holders, ops)
	}
	st := s.status("d", obj1)
	if st.Target != 3 || st.Regions != 2 {
		t.Errorf("status target %d regions %d, want 3 and 2", st.Target, st.Regions)
	}

	// a2 (operator A, like the owner a1) also keeps a copy: still 3.
	a2 := s.byID["a2"]
	a2.blocks[obj1] = testBlocks(obj1, 8)
	s.must(a2.core.Track(obj1, TrackOptions{Target: 3, Leaves: 8}, s.now))
	s.run(5 * time.Second)
	for _, n := range s.nodes {
		st := n.core.Status(obj1, s.now)
		if _, ok := verifiedHolders(st)["a2"]; !ok && n.id != "a2" {
			t.Errorf("%s: a2 not verified: %+v", n.id, st.Holders)
		}
		if st.Copies != 3 {
			t.Errorf("%s: copies = %d with two verified copies on operator A, want 3", n.id, st.Copies)
		}
	}
}

func TestScenarioRepairAfterKill(t *testing.T) {
	s := placed(t)
	victim := s.nonOwnerHolder(obj1)
	s.byID[victim].killed = true
	killedAt := s.now
	s.runUntil(15*time.Second, "copies drop", func() bool { return s.status("a1", obj1).Copies == 2 })
	droppedAt := s.now
	s.runUntil(20*time.Second, "repair", func() bool { return s.copiesEverywhere(obj1) == 3 })

	repair := s.fetchesAfter(killedAt)
	if len(repair) != 1 {
		t.Fatalf("repair fetches %v, want exactly one", repair)
	}
	// The shortfall is dated by its evidence: the victim's last round
	// going stale (it never answers again; in a node, its connection
	// closing drops it at once, see reach_test.go).
	if got := repair[0].at.Sub(killedAt); got < DefaultConfig().RepairGrace {
		t.Errorf("repair started %s after the kill, want at least the grace %s", got, DefaultConfig().RepairGrace)
	}
	if !repair[0].at.After(droppedAt) {
		t.Errorf("repair started at %s, before copies dropped at %s", repair[0].at, droppedAt)
	}
	cfg := simConfig("a1")
	if got, most := repair[0].at.Sub(killedAt), cfg.ProofFreshness+cfg.RepairGrace+cfg.ChallengeInterval; got > most {
		t.Errorf("repair started %s after the kill, want within %s", got, most)
	}
	s.assertDistinctOperators(obj1, victim)
}

// nonOwnerHolder returns a holder of obj other than a1.
func (s *sim) nonOwnerHolder(obj ObjectID) PeerID {
	for _, p := range s.holdersWithBlocks(obj) {
		if p != "a1" {
			return p
		}
	}
	s.t.Fatal("no holder besides the owner")
	return ""
}

func (s *sim) fetchesAfter(t time.Time) []fetchEvent {
	var out []fetchEvent
	for _, f := range s.fetched {
		if f.at.After(t) {
			out = append(out, f)
		}
	}
	return out
}

// assertDistinctOperators checks that the verified holders in a1's view
// are three distinct operators and do not include gone.
func (s *sim) assertDistinctOperators(obj ObjectID, gone PeerID) {
	s.t.Helper()
	v := verifiedHolders(s.status("a1", obj))
	ops := map[string]bool{}
	for p, h := range v {
		ops[h.Operator] = true
		if p == gone {
			s.t.Errorf("%s still verified", gone)
		}
	}
	if len(ops) != 3 {
		s.t.Errorf("verified holders %v span %d operators, want 3", v, len(ops))
	}
}

func TestScenarioDeletedBlocksRepaired(t *testing.T) {
	s := placed(t)
	victim := s.nonOwnerHolder(obj1)
	delete(s.byID[victim].blocks, obj1) // behind the core's back
	deletedAt := s.now
	// A round finds the loss: the victim, asked for blocks it no longer
	// has, refuses and attests the loss, as the node does (or, had it
	// answered, its digest would fail).
	s.runUntil(15*time.Second, "the loss to be known", func() bool {
		h := holderIn(s.status("a1", obj1), victim)
		return h.State == HolderFailed || h.State == HolderReleased
	})
	cfg := simConfig("x")
	if limit := cfg.ChallengeInterval*11/10 + cfg.ChallengeTimeout + s.step*2; s.now.Sub(deletedAt) > limit {
		t.Errorf("lost its count after %s, want within one challenge period (%s)", s.now.Sub(deletedAt), limit)
	}
	if h := holderIn(s.status("a1", obj1), victim); h.Reason == "" {
		t.Errorf("failed holder has no reason: %+v", h)
	}
	s.runUntil(20*time.Second, "repair", func() bool { return s.status("a1", obj1).Copies == 3 })
	s.assertDistinctOperators(obj1, "") // the victim may be the one to fetch it back
}

func holderIn(st ObjectStatus, p PeerID) HolderStatus {
	for _, h := range st.Holders {
		if h.Peer == p {
			return h
		}
	}
	return HolderStatus{}
}

func TestScenarioSurplusReleaseAfterReturn(t *testing.T) {
	s := placed(t)
	victim := s.nonOwnerHolder(obj1)
	s.byID[victim].isolated = true
	s.runUntil(30*time.Second, "repair while isolated", func() bool {
		return s.copiesEverywhere(obj1) == 3 && len(s.holdersWithBlocks(obj1)) == 4
	})
	s.byID[victim].isolated = false
	s.syncAll()
	s.runUntil(10*time.Second, "surplus seen", func() bool { return s.status("a1", obj1).Copies == 4 })
	minCopies := 4
	s.runUntil(60*time.Second, "release", func() bool {
		minCopies = min(minCopies, s.status("a1", obj1).Copies)
		return len(s.holdersWithBlocks(obj1)) == 3
	})
	s.run(5 * time.Second)
	if minCopies < 3 {
		t.Errorf("copies fell to %d during release, want never below 3", minCopies)
	}
	if got := s.copiesEverywhere(obj1); got != 3 {
		t.Errorf("copies after release = %d, want 3 everywhere", got)
	}
	if !slices.Contains(s.holdersWithBlocks(obj1), "a1") {
		t.Errorf("the owner's pinned copy was released")
	}
}

func TestScenarioAntiEntropyABC(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "eu"}, {"c", "C", "us"}})
	a, b, c := s.byID["a"], s.byID["b"], s.byID["c"]
	for _, n := range s.nodes {
		n.isolated = true // no gossip: only explicit syncs
	}
	c.blocks[obj1] = testBlocks(obj1, 8)
	s.must(c.core.Track(obj1, TrackOptions{Target: 1, Leaves: 8}, s.now))
	s.run(time.Second)

	s.sync(a, b) // a and b talk; neither knows about c's copy yet
	a.killed = true
	s.sync(b, c) // b learns of c's copy
	a.killed = false
	s.sync(a, b) // a learns from b
	if _, ok := a.core.Ledger().Get(obj1, "c"); !ok {
		t.Fatalf("a did not learn of c's attestation through b")
	}
	if st := a.core.Status(obj1, s.now); len(st.Holders) != 1 || st.Holders[0].Peer != "c" {
		t.Errorf("a's status holders = %+v, want c", st.Holders)
	}
}

func TestScenarioRevokedStopsCounting(t *testing.T) {
	s := placed(t)
	victim := s.nonOwnerHolder(obj1)
	var roster []Member
	for _, m := range s.members {
		if m.Peer != victim {
			roster = append(roster, m)
		}
	}
	for _, n := range s.nodes {
		n.core.SetMembers(roster, s.now)
	}
	for _, n := range s.nodes {
		if n.id == victim {
			continue
		}
		st := n.core.Status(obj1, s.now)
		if st.Copies != 2 || holderIn(st, victim).State != HolderRevoked {
			t.Errorf("%s right after revocation: copies %d, %s %s; want 2 and revoked", n.id, st.Copies, victim, holderIn(st, victim).State)
		}
	}
	old, _ := s.byID[victim].core.Ledger().Get(obj1, victim)
	old.Seq++
	old.Sign(testKey(string(victim)))
	if err := s.byID["a1"].core.Receive(old, s.now); !errors.Is(err, ErrRevokedMember) {
		t.Errorf("Receive from revoked member: err = %v, want ErrRevokedMember", err)
	}
	s.byID[victim].killed = true
	s.runUntil(20*time.Second, "repair", func() bool { return s.copiesEverywhere(obj1) == 3 })
}

func TestScenarioDeterministic(t *testing.T) {
	run := func() []fetchEvent {
		s := placed(t)
		s.byID[s.nonOwnerHolder(obj1)].killed = true
		s.run(15 * time.Second)
		return s.fetched
	}
	first, second := run(), run()
	if !slices.Equal(first, second) {
		t.Errorf("two identical runs fetched differently:\n%v\n%v", first, second)
	}
}

// TestScenarioDeletedIsNeverRepaired: once every node marks obj1 deleted,
// killing a holder triggers no fetch, holders drop their copies, and a
// late Track of the object is refused.
func TestScenarioDeletedIsNeverRepaired(t *testing.T) {
	s := placed(t)
	for _, n := range s.nodes {
		n.core.SetDeleted(obj1, true, s.now)
	}
	deletedAt := s.now
	s.byID[s.nonOwnerHolder(obj1)].killed = true
	s.run(30 * time.Second)
	if f := s.fetchesAfter(deletedAt); len(f) != 0 {
		t.Errorf("fetches after deletion: %v, want none", f)
	}
	for _, n := range s.nodes {
		if n.core.Holds(obj1) {
			t.Errorf("%s still holds the deleted object", n.id)
		}
	}
	a1 := s.byID["a1"]
	if err := a1.core.Track(obj1, TrackOptions{Target: 3, Leaves: 8}, s.now); !errors.Is(err, ErrDeleted) {
		t.Errorf("Track of a deleted object: %v, want ErrDeleted", err)
	}
	a1.core.SetDeleted(obj1, false, s.now)
	s.must(a1.core.Track(obj1, TrackOptions{Target: 3, Leaves: 8}, s.now))
	if !a1.core.Holds(obj1) {
		t.Error("after undelete and Track, a1 does not hold the object")
	}
}

// TestScenarioQuietWhileHealthy: once an object is backed up, holders do
// not sign it again while nothing changes (their statements keep its
// evidence fresh), and no node ever sees a healthy copy go stale; a copy
// that starts failing is published at once.
func TestScenarioQuietWhileHealthy(t *testing.T) {
	s := placed(t)
	cfg := simConfig("any")
	start, published := s.now, s.published
	for s.now.Sub(start) < 30*cfg.ChallengeInterval {
		s.run(s.step)
		if c := s.copiesEverywhere(obj1); c != 3 {
			for _, n := range s.nodes {
				t.Logf("%s: %+v", n.id, n.core.Status(obj1, s.now).Holders)
			}
			t.Fatalf("after %s of steady state, nodes count %d copies; want 3 everywhere", s.now.Sub(start), c)
		}
	}
	// Three holders each challenge the two others every interval: the
	// per-object rule published up to 2 × 3 × 30 = 180 attestations, and
	// republishing only to keep proofs fresh 3 × 25.
	perHolder := float64(s.published-published) / 3
	if most := 1.0; perHolder > most {
		t.Errorf("each holder published %.1f attestations in 30 challenge intervals; want at most %.1f", perHolder, most)
	}
	t.Logf("%.1f attestations per holder in 30 challenge intervals", perHolder)

	victim := s.nonOwnerHolder(obj1)
	delete(s.byID[victim].blocks, obj1) // lost behind the holder's back
	lost := s.now
	s.runUntil(2*cfg.ChallengeInterval+time.Second, "the loss to be counted everywhere", func() bool {
		return s.copiesEverywhere(obj1) == 2
	})
	if took := s.now.Sub(lost); took > cfg.ChallengeInterval+cfg.ChallengeTimeout+time.Second {
		t.Errorf("the loss took %s to reach every node; want about one challenge interval", took)
	}
}
