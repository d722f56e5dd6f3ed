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
