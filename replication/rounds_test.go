package replication

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// manyPlaced is four operators in two regions with n objects added on a
// at target 3, run until every node counts three copies of each.
func manyPlaced(t *testing.T, n int) (*sim, []ObjectID) {
	t.Helper()
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "us"}, {"c", "C", "eu"}, {"d", "D", "us"}})
	objs := make([]ObjectID, n)
	for i := range objs {
		objs[i] = ObjectID(fmt.Sprintf("bafymany%05d", i))
		s.add("a", objs[i], 3)
	}
	s.runUntilEvery(10*time.Minute, time.Second, "every object backed up everywhere", func() bool { return s.allCounted(objs, 3) })
	return s, objs
}

// runUntilEvery is runUntil for a condition costly enough to check only
// every so often.
func (s *sim) runUntilEvery(limit, every time.Duration, what string, cond func() bool) {
	s.t.Helper()
	for end := s.now.Add(limit); !cond(); {
		if !s.now.Before(end) {
			s.t.Fatalf("after %s: %s did not happen", limit, what)
		}
		s.run(every)
	}
}

// allCounted reports whether every live node counts want copies of each
// object.
func (s *sim) allCounted(objs []ObjectID, want int) bool {
	for _, obj := range objs {
		if s.copiesEverywhere(obj) != want {
			return false
		}
	}
	return true
}

// checksOf returns how many of peer's copies node id's own latest check
// passed, and how many it found with a wrong digest.
func (s *sim) checksOf(id string, peer PeerID) (passed, failed int) {
	n := s.byID[PeerID(id)]
	for _, obj := range n.core.Objects() {
		if _, r, ok := n.core.ledger.Check(obj, n.id, peer); ok && r == ResultPass {
			passed++
		} else if ok && r == ResultFail {
			failed++
		}
	}
	return passed, failed
}

// TestRoundsCatchALossOfOnePercent: a holder that loses 1 % of its
// blocks behind its node's back is caught by a sampled round within three
// challenge intervals (RoundSample 160: missed with probability 0.99^480,
// under 1 %; the run is seeded), and the copies it failed stop counting.
func TestRoundsCatchALossOfOnePercent(t *testing.T) {
	s, _ := manyPlaced(t, 250)
	cfg := simConfig("a")
	b := s.byID["b"]
	blocks, lost := 0, 0
	for _, obj := range sortedKeys(b.blocks) {
		for i := range b.blocks[obj] {
			if blocks++; blocks%100 == 0 {
				b.blocks[obj][i] = []byte("gone")
				lost++
			}
		}
	}
	t.Logf("b holds %d blocks, lost %d", blocks, lost)
	if _, failed := s.checksOf("a", "b"); failed != 0 {
		t.Fatalf("a failed %d of b's copies before the loss", failed)
	}
	start := s.now
	s.runUntil(3*cfg.ChallengeInterval*11/10+cfg.ChallengeTimeout, "a failed check of b", func() bool {
		_, af := s.checksOf("a", "b")
		_, cf := s.checksOf("c", "b")
		_, df := s.checksOf("d", "b")
		return af+cf+df > 0
	})
	t.Logf("caught after %s (interval %s)", s.now.Sub(start), cfg.ChallengeInterval)
}

// TestRoundsVouchForUnsampledCopies: a copy that no round sampled for
// longer than ProofFreshness still counts, on its pair's rounds; when the
// holder starts answering with made-up digests, its round fails and the
// copy stops counting within one interval and the freshness window, drawn
// or not.
func TestRoundsVouchForUnsampledCopies(t *testing.T) {
	s, objs := manyPlaced(t, 250)
	for _, n := range s.nodes {
		// A sample well short of the copies shared: a's rounds, every tenth
		// of an interval once one failed, must leave copies of b undrawn
		// for as long as the copies take to stop counting.
		n.core.cfg.RoundSample = 5
	}
	cfg := simConfig("a")
	s.run(2 * cfg.ProofFreshness)
	a := s.byID["a"]
	var unsampled []ObjectID
	for _, obj := range objs {
		at, r, ok := a.core.ledger.Check(obj, "a", "b")
		if ok && r == ResultPass && s.now.Sub(at) > cfg.ProofFreshness {
			unsampled = append(unsampled, obj)
		}
	}
	if len(unsampled) == 0 {
		t.Fatal("every copy of b was sampled within the freshness window; the test needs one that was not")
	}
	if obj, h := unsampled[0], holderIn(a.core.Status(unsampled[0], s.now), "b"); h.State != HolderVerified || s.now.Sub(h.VerifiedAt) > cfg.ProofFreshness {
		t.Fatalf("b's copy of %s, last checked on its own long ago: %s verified at %s; want verified on its pair's round", obj, h.State, h.VerifiedAt)
	}
	s.byID["b"].lies = true
	lied := s.now
	s.runUntilEvery(cfg.ChallengeInterval*11/10+cfg.ChallengeTimeout+cfg.ProofFreshness+time.Second, 500*time.Millisecond, "every copy of b to stop counting at a", func() bool {
		for _, obj := range objs {
			if holderIn(a.core.Status(obj, s.now), "b").State == HolderVerified {
				return false
			}
		}
		return true
	})
	undrawn := 0
	for _, obj := range objs {
		if _, r, _ := a.core.ledger.Check(obj, "a", "b"); r == ResultPass {
			undrawn++
		}
	}
	if undrawn == 0 {
		t.Error("a's rounds drew every copy of b after it began to lie; the test needs one they did not")
	}
	t.Logf("%d of %d copies of b unsampled for a freshness window; all stopped counting at a %s after b began to lie, %d of them never drawn by a's rounds since", len(unsampled), len(objs), s.now.Sub(lied), undrawn)
	// Acting on it needs no check of each copy either: every object is
	// looked at again when the rounds go stale, and repaired around b.
	s.runUntilEvery(cfg.RepairGrace+2*cfg.RepairEscalation+time.Minute, time.Second, "every object repaired around b at a", func() bool {
		for _, obj := range objs {
			if a.core.Status(obj, s.now).Copies < 3 {
				return false
			}
		}
		return true
	})
}

// observer is a core that holds nothing and hears of obj1 from h and m
// (operators H and M), both holding it; m's copy was checked by h at t0.
// refusedStatement hands st to a fresh observer at now, checks that it
// is refused with want and that m's copy does not count on it, and
// returns the observer.
func refusedStatement(t *testing.T, name string, st Statement, want error, now time.Time) *Core {
	t.Helper()
	c := observer(t)
	if err := c.ReceiveStatement(st, now); !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", name, err, want)
	}
	if h := holderIn(c.Status(obj1, now), "m"); h.State == HolderVerified {
		t.Errorf("%s: m's copy counts on a refused statement", name)
	}
	return c
}

func observer(t *testing.T) *Core {
	t.Helper()
	c := hostileCore(t)
	for _, a := range []Attestation{
		signedBy("h", Attestation{Object: obj1, Holder: "h", Seq: 1, IssuedAt: t0, Held: true, Target: 3, Leaves: 8,
			Proofs: []Proof{{Peer: "m", At: t0, Result: ResultPass}}}),
		claim(obj1, 1, nil),
	} {
		if err := c.Receive(a, t0); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func signedBy(who string, a Attestation) Attestation {
	a.Sign(testKey(who))
	return a
}

// statement is verifier's signed statement to "self" (hostileCore).
func statement(verifier string, seq uint64, at time.Time, rounds ...RoundPass) Statement {
	st := Statement{Verifier: PeerID(verifier), Recipient: "self", Seq: seq, IssuedAt: at, Rounds: rounds}
	st.Sign(testKey(verifier))
	return st
}

// TestStatementKeepsCheckedCopiesCounted: h's statement that its round
// with m passed carries h's old check of m's copy forward, at a node that
// holds nothing; it stops doing so when h no longer holds the object,
// when h's own check of the copy failed, and once the round is stale.
func TestStatementKeepsCheckedCopiesCounted(t *testing.T) {
	cfg := DefaultConfig()
	later := t0.Add(10 * cfg.ProofFreshness)
	state := func(c *Core, at time.Time) HolderStatus { return holderIn(c.Status(obj1, at), "m") }

	c := observer(t)
	if h := state(c, later); h.State != HolderStale {
		t.Fatalf("m's copy, checked once long ago: %s, want stale", h.State)
	}
	if err := c.ReceiveStatement(statement("h", 1, later, RoundPass{"m", later.Add(-time.Second)}), later); err != nil {
		t.Fatal(err)
	}
	if h := state(c, later); h.State != HolderVerified || !h.VerifiedAt.Equal(later.Add(-time.Second)) || !h.CheckedAt.Equal(t0) {
		t.Errorf("after h's statement: %s verified at %s, checked at %s; want verified on the round, checked at t0", h.State, h.VerifiedAt, h.CheckedAt)
	}
	if h := state(c, later.Add(cfg.ProofFreshness+time.Second)); h.State != HolderStale {
		t.Errorf("a freshness window after the round: %s, want stale", h.State)
	}
	// The core looks at the object again when the round goes stale, with
	// no wake-up of its own: repair and the event stream hear of it.
	if acts := c.Tick(later); !slices.Contains(acts.Changed, obj1) {
		t.Errorf("Tick after the statement: changed %v, want %s", acts.Changed, obj1)
	}
	c.wakes = wakeQueue{} // only the round's expiry is left to wake it
	if acts := c.Tick(later.Add(cfg.ProofFreshness + time.Second)); !slices.Contains(acts.Changed, obj1) {
		t.Errorf("Tick once the round is stale: changed %v, want %s", acts.Changed, obj1)
	}

	failed := signedBy("h", Attestation{Object: obj1, Holder: "h", Seq: 2, IssuedAt: t0, Held: true, Target: 3, Leaves: 8,
		Proofs: []Proof{{Peer: "m", At: t0.Add(time.Second), Result: ResultFail}}})
	if err := c.Receive(failed, later); err != nil {
		t.Fatal(err)
	}
	if h := state(c, later); h.State != HolderFailed {
		t.Errorf("h's latest check of m's copy failed, its round passed: %s, want failed", h.State)
	}

	c = observer(t)
	released := signedBy("h", Attestation{Object: obj1, Holder: "h", Seq: 2, IssuedAt: t0, Held: false, Target: 3, Leaves: 8,
		Proofs: []Proof{{Peer: "m", At: t0, Result: ResultPass}}})
	if err := c.Receive(released, t0); err != nil {
		t.Fatal(err)
	}
	if err := c.ReceiveStatement(statement("h", 1, later, RoundPass{"m", later}), later); err != nil {
		t.Fatal(err)
	}
	if h := state(c, later); h.State == HolderVerified {
		t.Errorf("h released the object, its rounds cannot sample it: m's copy is %s on them, want not verified", h.State)
	}
}

// TestHostileStatements: every field of a statement is a claim. Only the
// verifier's key makes one; replays, statements from the future or from
// non-members, and malformed ones are refused; a holder that is not a
// member is skipped; a verifier of the holder's own operator vouches for
// nothing; and a member cannot flood this node with statements.
func TestHostileStatements(t *testing.T) {
	cfg := DefaultConfig()
	later := t0.Add(10 * cfg.ProofFreshness)
	round := RoundPass{"m", later}
	forged := statement("h", 1, later, round)
	forged.Signature = statement("m", 1, later, round).Signature
	wrongVerifier := statement("m", 1, later, round)
	wrongVerifier.Verifier = "h"
	tests := []struct {
		name string
		st   Statement
		want error
	}{
		{"signed by another member", forged, ErrBadSignature},
		{"verifier renamed", wrongVerifier, ErrBadSignature},
		{"non-member verifier", statement("x", 1, later, round), ErrUnknownMember},
		{"from the future", statement("h", 1, later.Add(time.Hour), RoundPass{"m", later.Add(time.Hour)}), ErrFutureIssuedAt},
		{"round after the statement", statement("h", 1, later, RoundPass{"m", later.Add(time.Second)}), ErrMalformed},
		{"vouches for itself", statement("h", 1, later, RoundPass{"h", later}), ErrMalformed},
		{"rounds out of order", statement("h", 1, later, RoundPass{"self", later}, RoundPass{"m", later}), ErrMalformed},
		{"no signature", Statement{Verifier: "h", Recipient: "self", Seq: 1, IssuedAt: later, Rounds: []RoundPass{round}}, ErrMalformed},
	}
	for _, tt := range tests {
		refusedStatement(t, tt.name, tt.st, tt.want, later)
	}

	c := observer(t)
	if err := c.ReceiveStatement(statement("h", 5, later, round, RoundPass{"zz-not-a-member", later}), later); err != nil {
		t.Fatal(err)
	}
	if err := c.ReceiveStatement(statement("h", 5, later, round), later); !errors.Is(err, ErrReplay) {
		t.Errorf("the same seq again: %v, want ErrReplay", err)
	}
	if _, ok := c.ledger.peers.lookup("zz-not-a-member"); ok {
		t.Error("a non-member holder named in a statement was recorded")
	}
	limited := 0
	for i := range 100 {
		at := later.Add(time.Duration(i) * time.Millisecond)
		if errors.Is(c.ReceiveStatement(statement("h", uint64(10+i), at, round), at), ErrOverBound) {
			limited++
		}
	}
	if limited < 80 {
		t.Errorf("100 statements from one member in 100 ms: %d refused, want most", limited)
	}

	// A verifier of m's own operator cannot vouch for m's copy.
	c = hostileCore(t)
	c.SetMembers(append(c.roster, Member{Peer: "m2", Operator: "M", Region: "ap", PublicKey: testKey("m2").Public().(ed25519.PublicKey)}), t0)
	for _, a := range []Attestation{
		signedBy("m2", Attestation{Object: obj1, Holder: "m2", Seq: 1, IssuedAt: t0, Held: true, Target: 3, Leaves: 8,
			Proofs: []Proof{{Peer: "m", At: t0, Result: ResultPass}}}),
		claim(obj1, 1, nil),
	} {
		if err := c.Receive(a, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ReceiveStatement(statement("m2", 1, later, round), later); err != nil {
		t.Fatal(err)
	}
	if h := holderIn(c.Status(obj1, later), "m"); h.State == HolderVerified {
		t.Error("m's copy counts on a statement of its own operator")
	}
}

func TestStatementRoundTrip(t *testing.T) {
	st := statement("h", 7, t0, RoundPass{"a", t0.Add(-time.Second)}, RoundPass{"m", t0})
	data, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatement(data)
	if err != nil || got.Verify(testKey("h").Public().(ed25519.PublicKey)) != nil || len(got.Rounds) != 2 || !got.Rounds[1].PassedAt.Equal(t0) {
		t.Errorf("round trip = %+v, %v", got, err)
	}
	if _, err := DecodeStatement(append(data, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte: %v, want ErrMalformed", err)
	}
}

func FuzzDecodeStatement(f *testing.F) {
	good, _ := (func() *Statement { st := statement("h", 7, t0, RoundPass{"m", t0}); return &st })().MarshalBinary()
	f.Add(good)
	f.Add([]byte{1, 1, 'h', 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if st, err := DecodeStatement(data); err == nil {
			if again, _ := st.MarshalBinary(); string(again) != string(data) {
				t.Fatal("decoded statement does not re-encode to its input")
			}
		}
	})
}
