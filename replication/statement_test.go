package replication

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// statementCore is a core "self" whose members are self and others, each
// of its own operator, with the rounds with rounded passed at t0.
func statementCore(t *testing.T, others []PeerID, rounded ...PeerID) *Core {
	t.Helper()
	c := newTestCore(t, "self")
	ms := []Member{{Peer: "self", Operator: "S", Region: "eu", PublicKey: testKey("self").Public().(ed25519.PublicKey)}}
	for _, p := range others {
		ms = append(ms, Member{Peer: p, Operator: "op-" + string(p), Region: "us", PublicKey: testKey(string(p)).Public().(ed25519.PublicKey)})
	}
	c.SetMembers(ms, t0)
	for _, p := range rounded {
		c.rounds.pair(p).passedAt = t0
	}
	return c
}

// holdAt records that self holds obj and has told it to told, and that
// each of holders attests a copy (released ones a released copy).
func holdAt(c *Core, obj ObjectID, told []PeerID, holders []PeerID, released ...PeerID) {
	c.local[obj] = &localObject{held: true, target: 3, leaves: 1, told: slices.Sorted(slices.Values(told))}
	apply := func(p PeerID, held bool) {
		c.ledger.Apply(Attestation{Object: obj, Holder: p, Seq: 1, IssuedAt: t0, Held: held, Target: 3, Leaves: 1})
	}
	apply("self", true)
	for _, p := range holders {
		apply(p, true)
	}
	for _, p := range released {
		apply(p, false)
	}
}

// published signs the core's due statements and returns them by
// recipient, each checked: signed by self, addressed, one Seq for all.
func published(t *testing.T, c *Core, now time.Time) map[PeerID][]PeerID {
	t.Helper()
	c.rounds.statementDue = true
	c.out = Actions{}
	c.publishStatement(now)
	got := map[PeerID][]PeerID{}
	for _, st := range c.out.Statements {
		if err := st.Verify(testKey("self").Public().(ed25519.PublicKey)); err != nil || st.Verifier != "self" || st.Seq != c.out.Statements[0].Seq {
			t.Errorf("statement to %s: %v, verifier %s, seq %d", st.Recipient, err, st.Verifier, st.Seq)
		}
		if _, err := st.MarshalBinary(); err != nil {
			t.Errorf("statement to %s: %v", st.Recipient, err)
		}
		if latest, ok := c.LatestStatement(st.Recipient); !ok || latest.Seq != st.Seq {
			t.Errorf("LatestStatement(%s) = seq %d, %v; want the one just signed", st.Recipient, latest.Seq, ok)
		}
		for _, r := range st.Rounds {
			got[st.Recipient] = append(got[st.Recipient], r.Holder)
		}
	}
	return got
}

// TestStatementsGoOnlyWhereTheyMatter: a member hears of this node's
// round with a holder only when the three share an object this node
// holds and the member has this node's attestation of it; a member with
// none gets no statement.
func TestStatementsGoOnlyWhereTheyMatter(t *testing.T) {
	c := statementCore(t, []PeerID{"a", "b", "c", "d", "e", "f"}, "a", "b", "d", "e")
	holdAt(c, "s1", []PeerID{"a", "b", "c"}, []PeerID{"a", "b"}, "f") // f released its copy
	holdAt(c, "s2", []PeerID{"d"}, []PeerID{"d"})                     // d alone: its own copy
	holdAt(c, "s3", []PeerID{"c"}, []PeerID{"c"})                     // no round with c yet
	// An object this node does not hold: its rounds cannot sample it.
	c.ledger.Apply(Attestation{Object: "s4", Holder: "e", Seq: 1, IssuedAt: t0, Held: true, Target: 3, Leaves: 1})
	c.ledger.Apply(Attestation{Object: "s4", Holder: "a", Seq: 1, IssuedAt: t0, Held: true, Target: 3, Leaves: 1})

	got := published(t, c, t0.Add(time.Second))
	want := map[PeerID][]PeerID{"a": {"b"}, "b": {"a"}, "c": {"a", "b"}}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("statements by recipient = %v, want %v", got, want)
	}
	for _, p := range []PeerID{"d", "e", "f"} {
		if _, ok := c.LatestStatement(p); ok {
			t.Errorf("LatestStatement(%s): a statement for a member none of whose objects it covers", p)
		}
	}

	// The next batch replaces the last: a member that no longer shares an
	// object is handed nothing when it connects.
	delete(c.local, "s1")
	if got := published(t, c, t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("after s1 is gone: %v, want no statement", got)
	}
	if _, ok := c.LatestStatement("c"); ok {
		t.Error("LatestStatement(c) still hands out the previous batch")
	}
}

// TestRelevantHoldersMatchesTheRule: on random federations, the holders
// each member is told of are exactly those the rule names: some object
// this node holds is attested held by the holder and told to, or held
// by, the member; member, holder and this node distinct; and this node
// has a round with the holder.
func TestRelevantHoldersMatchesTheRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 1))
	for trial := range 50 {
		var others []PeerID
		for i := range 2 + rng.IntN(10) {
			others = append(others, PeerID(fmt.Sprintf("p%02d", i)))
		}
		pick := func(prob float64) []PeerID {
			var out []PeerID
			for _, p := range others {
				if rng.Float64() < prob {
					out = append(out, p)
				}
			}
			return out
		}
		rounded := pick(0.7)
		c := statementCore(t, others, rounded...)
		want := map[PeerID]map[PeerID]bool{}
		for o := range rng.IntN(8) {
			told, holders, released := pick(0.3), pick(0.3), pick(0.1)
			released = slices.DeleteFunc(released, func(p PeerID) bool { return slices.Contains(holders, p) })
			holdAt(c, ObjectID(fmt.Sprintf("o%d", o)), told, holders, released...)
			for _, r := range append(slices.Clone(told), holders...) {
				for _, h := range holders {
					if r != h && slices.Contains(rounded, h) {
						if want[r] == nil {
							want[r] = map[PeerID]bool{}
						}
						want[r][h] = true
					}
				}
			}
		}
		got := c.relevantHolders(c.passedRounds())
		if !maps.EqualFunc(got, want, maps.Equal) {
			t.Fatalf("trial %d: relevant holders = %v, want %v", trial, got, want)
		}
	}
}

// TestHostileStatementAddressing: a statement is for its recipient only.
// One addressed to another member, or altered, is refused and leaves no
// trace: the verifier's statement to this node, with a lower Seq, is
// still taken, so a member cannot pass off its own to suppress another's.
func TestHostileStatementAddressing(t *testing.T) {
	cfg := DefaultConfig()
	later := t0.Add(10 * cfg.ProofFreshness)
	round := RoundPass{"m", later}
	toOther := func(seq uint64) Statement {
		st := Statement{Verifier: "h", Recipient: "m2", Seq: seq, IssuedAt: later, Rounds: []RoundPass{round}}
		st.Sign(testKey("h"))
		return st
	}
	readdressed := toOther(9)
	readdressed.Recipient = "self"
	extended := statement("h", 9, later)
	extended.Rounds = []RoundPass{round}
	unaddressed := statement("h", 9, later, round)
	unaddressed.Recipient = ""
	tests := []struct {
		name string
		st   Statement
		want error
	}{
		{"addressed to another member", toOther(9), ErrMisaddressed},
		{"recipient changed to this node", readdressed, ErrBadSignature},
		{"a round added", extended, ErrBadSignature},
		{"no recipient", unaddressed, ErrMalformed},
		{"addressed to its verifier", func() Statement {
			st := Statement{Verifier: "h", Recipient: "h", Seq: 9, IssuedAt: later, Rounds: []RoundPass{round}}
			st.Sign(testKey("h"))
			return st
		}(), ErrMalformed},
		{"the recipient's own round", statement("h", 9, later, RoundPass{"self", later}), ErrMalformed},
	}
	for _, tt := range tests {
		c := refusedStatement(t, tt.name, tt.st, tt.want, later)
		if err := c.ReceiveStatement(statement("h", 5, later, round), later); err != nil {
			t.Errorf("%s: h's own statement to this node afterwards: %v", tt.name, err)
		}
		if h := holderIn(c.Status(obj1, later), "m"); h.State != HolderVerified {
			t.Errorf("%s: m's copy after h's statement to this node: %s, want verified", tt.name, h.State)
		}
	}

	// A replay of a statement addressed to this node is refused, as any.
	c := observer(t)
	st := statement("h", 5, later, round)
	if err := c.ReceiveStatement(st, later); err != nil {
		t.Fatal(err)
	}
	if err := c.ReceiveStatement(st, later.Add(time.Second)); !errors.Is(err, ErrReplay) {
		t.Errorf("the same statement again: %v, want ErrReplay", err)
	}
}

func TestStatementEncodesItsRecipient(t *testing.T) {
	st := statement("h", 7, t0, RoundPass{"m", t0})
	data, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatement(data)
	if err != nil || got.Recipient != "self" {
		t.Errorf("decoded recipient %q, %v; want self", got.Recipient, err)
	}
}
