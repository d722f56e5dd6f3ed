package replication

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestPeerDownIsNotEvidence: a holder whose connection closes stops
// counting at once, is not challenged while away, and nothing of it is
// signed or persisted: this node's attestations carry no failure, and a
// core restored from them counts the holder on its proofs.
func TestPeerDownIsNotEvidence(t *testing.T) {
	s, objs := fourOperators(t)
	a := s.byID["a"]
	obj := objs[0] // owned by a
	holder := s.nonOwnerHolderOf(obj, "a")
	s.run(time.Second)

	a.core.PeerDown(holder, s.now)
	st := a.core.Status(obj, s.now)
	if h := holderIn(st, holder); h.State != HolderUnreachable || h.Reason == "" {
		t.Errorf("after PeerDown: %s is %s (%q), want unreachable with a reason", holder, h.State, h.Reason)
	}
	if st.Copies != 2 {
		t.Errorf("after PeerDown: copies = %d, want 2", st.Copies)
	}
	acts := a.core.Tick(s.now.Add(10 * time.Millisecond))
	for _, ch := range acts.Challenges {
		if ch.Holder == holder {
			t.Errorf("challenged the unreachable holder: %+v", ch)
		}
	}
	for _, out := range acts.Publish {
		for _, p := range out.Attestation.Proofs {
			if p.Peer == holder && p.Result != ResultPass {
				t.Errorf("published a %s proof of the unreachable holder", p.Result)
			}
		}
	}

	a.core.PeerUp(holder, s.now)
	if h := holderIn(a.core.Status(obj, s.now), holder); h.State != HolderVerified {
		t.Errorf("after PeerUp: %s is %s, want verified on its proofs", holder, h.State)
	}
	if _, down := a.core.Unreachable(holder); down {
		t.Error("still unreachable after PeerUp")
	}
}

// TestPeerDownDatesTheShortfall: repair around an unreachable holder
// starts RepairGrace after its connection closed, on the member that
// holds no copy.
func TestPeerDownDatesTheShortfall(t *testing.T) {
	s, objs := fourOperators(t)
	s.run(simConfig("any").ReconnectGrace) // past the hold after start
	obj := objs[0]
	holder := s.nonOwnerHolderOf(obj, "a")
	spare := PeerID("")
	for _, n := range s.nodes {
		if !slices.Contains(s.holdersWithBlocks(obj), n.id) {
			spare = n.id
		}
	}
	down := s.now
	s.stop(holder)
	var f fetchEvent
	s.runUntil(time.Minute, "repair", func() bool {
		for _, e := range s.fetchesAfter(down) {
			if e.obj == obj {
				f = e
				return true
			}
		}
		return false
	})
	if f.node != spare || f.at.Sub(down) < simConfig("any").RepairGrace {
		t.Errorf("fetch %+v, %s after the holder went down; want %s, after RepairGrace", f, f.at.Sub(down), spare)
	}
}

// nonOwnerHolderOf returns a node storing obj other than owner.
func (s *sim) nonOwnerHolderOf(obj ObjectID, owner PeerID) PeerID {
	for _, p := range s.holdersWithBlocks(obj) {
		if p != owner {
			return p
		}
	}
	s.t.Fatalf("no holder of %s besides %s", obj, owner)
	return ""
}

// BenchmarkPeerDown is the work of one member's disconnect and reconnect
// at 1,000,000 objects in the ledger: a holder of 100,000 of them, and a
// member that holds none (the ledger's index by holder makes both grow
// with what the peer holds, not with the ledger).
func BenchmarkPeerDown(b *testing.B) {
	const objects, shared = 1_000_000, 100_000
	c := newTestCore(b, "self")
	holders := []PeerID{"12D3KooWHolderAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "12D3KooWHolderBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "12D3KooWHolderCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"}
	sharer, idle := PeerID("12D3KooWSharerDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"), PeerID("12D3KooWIdleEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE")
	var members []Member
	for _, h := range append(slices.Clone(holders), sharer, idle) {
		members = append(members, Member{Peer: h, Operator: string(h), Region: "eu"})
	}
	c.SetMembers(members, t0)
	c.ledger = bigLedger(objects)
	sig := make([]byte, 64)
	for i := range shared {
		c.ledger.Apply(Attestation{Object: ObjectID(fmt.Sprintf("bafybeig%051d", i)), Holder: sharer, Seq: 1, IssuedAt: t0, Held: true, Target: 3, Leaves: 1024, Signature: sig})
	}
	for _, p := range []struct {
		name string
		peer PeerID
	}{{"shares=100000", sharer}, {"shares=0", idle}} {
		b.Run(p.name, func(b *testing.B) {
			for i := range b.N {
				at := t0.Add(time.Duration(i) * time.Second)
				c.PeerDown(p.peer, at)
				c.PeerUp(p.peer, at)
				clear(c.dirty) // what the next Tick would have consumed
			}
		})
	}
}

// TestPeerDownMarksWhatThePeerAttested: a disconnect queues for a new
// status exactly the objects the peer attested (and those short of their
// target), found through the ledger's index by holder.
func TestPeerDownMarksWhatThePeerAttested(t *testing.T) {
	c := newTestCore(t, "self")
	sig := make([]byte, 64)
	for i, h := range []PeerID{"p", "p", "q"} {
		c.ledger.Apply(Attestation{Object: ObjectID(fmt.Sprint("obj", i)), Holder: h, Seq: 1, IssuedAt: t0, Held: true, Target: 1, Leaves: 1, Signature: sig})
	}
	clear(c.dirty)
	clear(c.below)
	c.PeerDown("p", t0)
	if len(c.dirty) != 2 || !c.dirty["obj0"] || !c.dirty["obj1"] {
		t.Fatalf("dirty after p's disconnect: %v, want obj0 and obj1", c.dirty)
	}
	clear(c.dirty)
	c.PeerUp("p", t0)
	c.PeerDown("nobody", t0)
	if len(c.dirty) != 2 {
		t.Fatalf("dirty after p's return and an unknown peer's disconnect: %v", c.dirty)
	}
}

// TestRejoinHoldsRepair: a node cut off from every member sees every copy
// unreachable and, past RepairGrace, wants to fetch them. When the
// network lets it back, its connections return one at a time; it must
// not fetch from the first holder back a copy of an object whose other
// holders are only slower to reconnect. It waits ReconnectGrace from its
// first connection back, as after a start. (In the scale simulation,
// healing a region made its nodes fetch such copies, and every holder
// then checked and signed for the new copy and told it every record.)
func TestRejoinHoldsRepair(t *testing.T) {
	s := placed(t)
	cfg := simConfig("any")
	s.run(cfg.ReconnectGrace) // past the hold after start
	holders := s.holdersWithBlocks(obj1)
	var r *simNode // holds no copy
	for _, n := range s.nodes {
		if !slices.Contains(holders, n.id) {
			r = n
			break
		}
	}
	link := func(o *simNode, up bool) {
		s.cut[[2]PeerID{r.id, o.id}] = !up
		if up {
			r.core.PeerUp(o.id, s.now)
			o.core.PeerUp(r.id, s.now)
		} else {
			r.core.PeerDown(o.id, s.now)
			o.core.PeerDown(r.id, s.now)
		}
	}
	for _, o := range s.nodes {
		if o != r {
			link(o, false)
		}
	}
	s.run(3 * cfg.RepairGrace)
	if v := r.core.view(obj1, s.now); !slices.Contains(r.core.repairCandidates(obj1, v, s.now), r.id) {
		t.Fatalf("%s, cut off, is no candidate to fetch %s: the test no longer sets up what it means to", r.id, obj1)
	}
	back := s.now
	link(s.byID[holders[0]], true)
	s.run(cfg.RepairGrace + time.Second) // a slow reconnect, within ReconnectGrace
	for _, o := range s.nodes {
		if o != r && o.id != holders[0] {
			link(o, true)
		}
	}
	s.run(cfg.ReconnectGrace)
	for _, f := range s.fetchesAfter(back) {
		t.Errorf("%s fetched %s %s after its first connection came back", f.node, f.obj, f.at.Sub(back))
	}
	if got := s.status(string(r.id), obj1).Copies; got != 3 {
		t.Errorf("%s counts %d copies of %s once every member is back, want 3", r.id, got, obj1)
	}
}

// TestRepairHoldAfterRejoin: only a node that had other members and lost
// every one of them holds repair when one comes back; a peer that is not
// a member neither cuts it off nor brings it back.
func TestRepairHoldAfterRejoin(t *testing.T) {
	members := []Member{{Peer: "self", Operator: "S"}, {Peer: "a", Operator: "A"}, {Peer: "b", Operator: "B"}}
	grace := simConfig("self").ReconnectGrace
	later := t0.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		members []Member
		steps   func(c *Core) // at later
		want    time.Time
	}{
		{"one member lost", members, func(c *Core) { c.PeerDown("a", later); c.PeerUp("a", later) }, t0.Add(grace)},
		{"every member lost, one back", members, func(c *Core) {
			c.PeerDown("a", later)
			c.PeerDown("b", later)
			c.PeerUp("b", later)
		}, later.Add(grace)},
		{"every member lost, a stranger back", members, func(c *Core) {
			c.PeerDown("a", later)
			c.PeerDown("b", later)
			c.PeerUp("x", later)
		}, t0.Add(grace)},
		{"alone, a stranger lost and back", members[:1], func(c *Core) { c.PeerDown("x", later); c.PeerUp("x", later) }, t0.Add(grace)},
		{"every member lost, then a new one", members, func(c *Core) {
			c.PeerDown("a", later)
			c.PeerDown("b", later)
			c.SetMembers(append(slices.Clone(members), Member{Peer: "c", Operator: "C"}), later)
			c.PeerUp("a", later)
		}, t0.Add(grace)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCore(t, "self")
			c.SetMembers(tc.members, t0)
			c.Tick(t0)
			tc.steps(c)
			if got := c.repairHold(); !got.Equal(tc.want) {
				t.Errorf("repair held until %s, want %s", got, tc.want)
			}
		})
	}
}

// TestSyncOnConnectPaces: the first ConnectSyncs members to connect get
// an exchange, the next waits for the allowance to refill (ConnectSyncs
// per half minute), and a quiet half minute allows a full burst again.
func TestSyncOnConnectPaces(t *testing.T) {
	s := bigSim(t, 3*ConnectSyncs)
	a := s.nodes[0].core
	others := s.nodes[1:]
	now := s.now
	for i, n := range others[:ConnectSyncs] {
		if !a.SyncOnConnect(n.id, now) {
			t.Fatalf("member %d of a burst: no exchange, want one for the first %d", i+1, ConnectSyncs)
		}
	}
	if a.SyncOnConnect(others[ConnectSyncs].id, now) {
		t.Fatalf("member %d at once: an exchange, want none", ConnectSyncs+1)
	}
	refill := connectSyncRefill / ConnectSyncs
	if a.SyncOnConnect(others[ConnectSyncs].id, now.Add(refill-time.Millisecond)) {
		t.Error("an exchange before one refilled")
	}
	if !a.SyncOnConnect(others[ConnectSyncs].id, now.Add(refill+time.Millisecond)) {
		t.Error("no exchange once one refilled")
	}
	later := now.Add(refill + connectSyncRefill + time.Second)
	for i, n := range others[ConnectSyncs+1 : 2*ConnectSyncs+1] {
		if !a.SyncOnConnect(n.id, later) {
			t.Fatalf("after a quiet half minute, member %d: no exchange", i+1)
		}
	}
}

// TestSyncOnConnectHostile: a member that connects again and again gets
// no more exchanges than the allowance, however often it reconnects; a
// peer that is not a member, or this node itself, gets none.
func TestSyncOnConnectHostile(t *testing.T) {
	s := bigSim(t, 4)
	a := s.nodes[0].core
	noisy := s.nodes[1]
	now := s.now
	got := 0
	for i := range 600 { // ten a second for a minute
		if a.SyncOnConnect(noisy.id, now.Add(time.Duration(i)*100*time.Millisecond)) {
			got++
		}
	}
	if most := ConnectSyncs + int(time.Minute/connectSyncRefill)*ConnectSyncs; got > most {
		t.Errorf("a member reconnecting ten times a second for a minute got %d exchanges, want at most %d", got, most)
	}
	for _, p := range []PeerID{"not-a-member", s.nodes[0].id} {
		if a.SyncOnConnect(p, now.Add(time.Hour)) {
			t.Errorf("%s: an exchange", p)
		}
	}
}
