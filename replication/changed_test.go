package replication

import (
	"slices"
	"testing"
	"time"
)

// TestTickReportsChangedObjects: Actions.Changed names exactly the objects
// a Tick evaluated, so the node can follow changes without scanning every
// object: a new copy, a received attestation, a challenge outcome and a
// timer falling due each put the object there once, and a quiet Tick
// reports nothing.
func TestTickReportsChangedObjects(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "us"}})
	a, b := s.byID["a"].core, s.byID["b"].core
	const other ObjectID = "bafyobject2"
	now := s.now
	step := func(c *Core, want ...ObjectID) Actions {
		t.Helper()
		now = now.Add(10 * time.Millisecond)
		acts := c.Tick(now)
		if !slices.Equal(acts.Changed, want) {
			t.Fatalf("Changed = %v, want %v", acts.Changed, want)
		}
		return acts
	}

	step(a)
	s.must(a.Track(obj1, TrackOptions{Target: 2, Leaves: 8, Pinned: true}, now))
	s.must(a.Track(other, TrackOptions{Target: 1, Leaves: 8, Pinned: true}, now))
	owned := step(a, obj1, other)
	step(a)

	for _, out := range owned.Publish {
		s.must(b.Receive(out.Attestation, now))
	}
	step(b, obj1, other)
	s.must(b.Track(obj1, TrackOptions{Target: 2, Leaves: 8}, now))
	held := step(b, obj1)
	for _, out := range held.Publish {
		s.must(a.Receive(out.Attestation, now))
	}
	challenged := step(a, obj1)
	if len(challenged.Challenges) != 1 {
		t.Fatalf("a issued %d challenges, want 1 to b", len(challenged.Challenges))
	}
	step(a)

	pass := func(ch Challenge) {
		t.Helper()
		digest := Digest(ch.Nonce, nil)
		resp := Response{ID: ch.ID, Answers: []Answer{{Digest: digest}}}
		if _, err := a.ChallengeResponse("b", resp, [][32]byte{digest}, now); err != nil {
			t.Fatal(err)
		}
	}
	pass(challenged.Challenges[0])
	step(a, obj1)
	step(a)

	// The pair's next round falls due about one ChallengeInterval later:
	// it samples obj1 without waking it, and its pass, which only
	// confirms a copy already counted verified, does not wake it either.
	// The round after that fails, which does.
	for _, passes := range []bool{true, false} {
		now = now.Add(simConfig("a").ChallengeInterval * 12 / 10)
		round := step(a)
		if len(round.Challenges) != 1 || !round.Challenges[0].Sampled {
			t.Fatalf("a issued %+v an interval later, want one sampled round to b", round.Challenges)
		}
		if passes {
			pass(round.Challenges[0])
			step(a)
			continue
		}
		resp := Response{ID: round.Challenges[0].ID, Answers: []Answer{{Digest: [32]byte{1}}}}
		if _, err := a.ChallengeResponse("b", resp, [][32]byte{Digest(round.Challenges[0].Nonce, nil)}, now); err != nil {
			t.Fatal(err)
		}
		step(a, obj1)
	}

	if got := a.Objects(); !slices.Equal(got, []ObjectID{obj1, other}) {
		t.Errorf("Objects() = %v, want both objects", got)
	}
	if q, f := a.Repairs(); q != 0 || f != 0 {
		t.Errorf("Repairs() = %d queued, %d fetching; want none", q, f)
	}
}
