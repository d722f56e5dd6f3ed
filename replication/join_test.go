package replication

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"
)

// TestJoiningNodeWaitsForTheLedgerBeforePlacing: a node that joins a
// federation learns what the members hold over its first seconds, one
// member's records at a time. An object it hears of first from one holder
// looks new (fewer operators than the target have attested it) though it
// is backed up: the node must not fetch a copy on that partial view, but
// wait ReconnectGrace from joining, as after a start. (A restore
// benchmark's fresh member fetched a whole 1 GiB copy this way, 26 ms
// after joining.)
func TestJoiningNodeWaitsForTheLedgerBeforePlacing(t *testing.T) {
	cfg := simConfig("d")
	cfg.ReconnectGrace = 3 * time.Second // shorter than ProofFreshness: the others stand still below
	s, d, objs := joinLate(t, cfg)

	received := 0
	for _, att := range s.byID["a"].core.Missing(d.Ledger().Summary(), "d") {
		if att.Holder == "a" { // only a's records have arrived
			if err := d.Receive(att, s.now); err != nil {
				t.Fatal(err)
			}
			received++
		}
	}
	if received < len(objs) {
		t.Fatalf("d received %d of a's records, want one per object (%d)", received, len(objs))
	}
	if f := d.Tick(s.now.Add(time.Second)).Fetches; len(f) > 0 {
		t.Fatalf("a second after joining, knowing one holder of each object, d fetches %d copies of objects already backed up", len(f))
	}
	for _, from := range []PeerID{"b", "c"} { // the others' records arrive
		for _, att := range s.byID[from].core.Missing(d.Ledger().Summary(), "d") {
			if err := d.Receive(att, s.now); err != nil {
				t.Fatal(err)
			}
		}
	}
	later := s.now.Add(cfg.ReconnectGrace + time.Second)
	if f := d.Tick(later).Fetches; len(f) > 0 {
		t.Fatalf("past the hold, knowing every holder, d fetches %d copies of objects already backed up", len(f))
	}

}

// TestJoinHoldSurvivesReissuedRecords: a holder that re-issues its record
// of an old object just after a node joined (new proofs, or a member that
// lies) does not make the object look new to the node: it was first heard
// of with an attestation issued before the join.
func TestJoinHoldSurvivesReissuedRecords(t *testing.T) {
	s, d, objs := joinLate(t, simConfig("d"))
	for _, att := range s.byID["a"].core.Missing(d.Ledger().Summary(), "d") {
		if att.Holder == "a" {
			if err := d.Receive(att, s.now); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, obj := range objs { // a re-issues every record 100 ms after the join
		att, ok := s.byID["a"].core.attest(obj, s.now.Add(100*time.Millisecond))
		if !ok {
			t.Fatalf("a has no record of %s to re-issue", obj)
		}
		if err := d.Receive(att, s.now.Add(200*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if f := d.Tick(s.now.Add(time.Second)).Fetches; len(f) > 0 {
		t.Fatalf("a second after joining, with a's records re-issued since, d fetches %d copies of objects already backed up", len(f))
	}
}

// joinLate backs up 12 objects of a's on a, b and c, then has d, running
// for a minute in no federation, join them; nothing of the ledger has
// reached d yet.
func joinLate(t *testing.T, cfg Config) (*sim, *Core, []ObjectID) {
	t.Helper()
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "us"}, {"c", "C", "eu"}})
	var objs []ObjectID
	for i := range 12 {
		obj := ObjectID(fmt.Sprintf("bafyold-%d", i))
		s.add("a", obj, 3)
		objs = append(objs, obj)
	}
	s.runUntil(10*time.Second, "every object on a, b and c", func() bool { return s.allBackedUp(objs) })
	newcomer := Member{Peer: "d", Operator: "D", Region: "us", PublicKey: testKey("d").Public().(ed25519.PublicKey)}
	d, err := New(cfg, newcomer.Peer)
	if err != nil {
		t.Fatal(err)
	}
	d.SetMembers([]Member{newcomer}, s.now) // running, in no federation yet
	d.Tick(s.now)
	s.run(time.Minute)
	all := append(append([]Member(nil), s.members...), newcomer)
	d.SetMembers(all, s.now) // joined
	for _, n := range s.nodes {
		n.core.SetMembers(all, s.now)
	}
	return s, d, objs
}
