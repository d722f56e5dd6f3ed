package replication

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestDigest(t *testing.T) {
	n1, n2 := [32]byte{1}, [32]byte{2}
	blocks := [][]byte{[]byte("ab"), []byte("c")}
	tests := []struct {
		name string
		a, b [32]byte
		same bool
	}{
		{"same input", Digest(n1, blocks), Digest(n1, blocks), true},
		{"other nonce", Digest(n1, blocks), Digest(n2, blocks), false},
		{"block boundary moved", Digest(n1, blocks), Digest(n1, [][]byte{[]byte("a"), []byte("bc")}), false},
		{"block missing", Digest(n1, blocks), Digest(n1, blocks[:1]), false},
	}
	for _, tt := range tests {
		if got := tt.a == tt.b; got != tt.same {
			t.Errorf("%s: equal = %v, want %v", tt.name, got, tt.same)
		}
	}
}

func TestChallengeResponseRoundTrip(t *testing.T) {
	ch := Challenge{ID: 42, Nonce: [32]byte{7}, Items: []Item{{"bafya", []int{0, 3, 9}}, {"bafyb", []int{2}}},
		IssuedAt: t0, Deadline: t0.Add(time.Second)}
	data, err := ch.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeChallenge(data)
	if err != nil || !reflect.DeepEqual(got, ch) {
		t.Errorf("challenge round trip = %+v, %v; want %+v", got, err, ch)
	}
	for _, resp := range []Response{{ID: 1, Answers: []Answer{{Refused: true}}}, {ID: 2, Answers: []Answer{{Digest: [32]byte{5}}, {Refused: true}}}} {
		data, _ := resp.MarshalBinary()
		if got, err := DecodeResponse(data); err != nil || !reflect.DeepEqual(got, resp) {
			t.Errorf("response round trip = %+v, %v; want %+v", got, err, resp)
		}
	}
}

func TestPickLeaves(t *testing.T) {
	r := rand.NewChaCha8([32]byte{})
	tests := []struct{ n, k, want int }{{100, 4, 4}, {3, 4, 3}, {1, 4, 1}}
	for _, tt := range tests {
		got, err := pickLeaves(r, tt.n, tt.k)
		if err != nil || len(got) != tt.want || checkLeaves(got) != nil || got[len(got)-1] >= tt.n {
			t.Errorf("pickLeaves(%d, %d) = %v, %v; want %d ascending distinct below n", tt.n, tt.k, got, err, tt.want)
		}
	}
}

func TestHandleChallenge(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "eu"}})
	a := s.byID["a"].core
	s.must(a.Track("held", TrackOptions{Target: 2, Leaves: 8}, t0))
	ch := func(items ...Item) Challenge { return Challenge{Items: items} }
	tests := []struct {
		name       string
		from       PeerID
		ch         Challenge
		wantRefuse []bool
		wantErr    error
	}{
		{"held", "b", ch(Item{"held", []int{1, 7}}), []bool{false}, nil},
		{"not held", "b", ch(Item{"other", []int{1}}), []bool{true}, nil},
		{"held and not", "b", ch(Item{"held", []int{0}}, Item{"other", []int{1}}), []bool{false, true}, nil},
		{"leaf out of range", "b", ch(Item{"held", []int{8}}), []bool{true}, nil},
		{"items out of order", "b", ch(Item{"other", []int{1}}, Item{"held", []int{0}}), nil, ErrMalformed},
		{"same item twice", "b", ch(Item{"held", []int{1}}, Item{"held", []int{1}}), nil, ErrMalformed},
		{"no items", "b", ch(), nil, ErrMalformed},
		{"non-member", "x", ch(Item{"held", []int{1}}), nil, ErrUnknownMember},
	}
	for _, tt := range tests {
		refuse, err := a.HandleChallenge(tt.from, tt.ch, t0)
		if !reflect.DeepEqual(refuse, tt.wantRefuse) || !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: got %v, %v; want %v, %v", tt.name, refuse, err, tt.wantRefuse, tt.wantErr)
		}
	}
}

func TestChallengeStormRateLimited(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "eu"}})
	a := s.byID["a"].core
	limited := 0
	for i := range 1000 {
		_, err := a.HandleChallenge("b", Challenge{Items: []Item{{"x", []int{0}}}}, t0.Add(time.Duration(i)*time.Millisecond))
		if errors.Is(err, ErrRateLimited) {
			limited++
		}
	}
	allowed := 1000 - limited
	rate, burst := a.challengeAllowance()
	if want := int(burst+rate) + 1; allowed > want {
		t.Errorf("storm of 1000 in 1 s: %d allowed, want at most %d", allowed, want)
	}
	if _, err := a.HandleChallenge("b", Challenge{Items: []Item{{"x", []int{0}}}}, t0.Add(time.Minute)); err != nil {
		t.Errorf("after a quiet minute: %v, want allowed", err)
	}
}

// TestChallengeAllowanceGrowsWithHeldObjects: a node holding many objects
// answers a peer that checks every one of them within an interval, and
// still turns away a storm ten times what an honest peer needs.
func TestChallengeAllowanceGrowsWithHeldObjects(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "eu"}})
	a := s.byID["a"].core
	cfg := simConfig("a")
	const held = 600
	for i := range held {
		if err := a.Track(ObjectID(fmt.Sprintf("obj-%d", i)), TrackOptions{Target: 2, Leaves: 4}, t0); err != nil {
			t.Fatal(err)
		}
	}
	challenge := func(i int, at time.Time) error {
		_, err := a.HandleChallenge("b", Challenge{Items: []Item{{ObjectID(fmt.Sprintf("obj-%d", i%held)), []int{0}}}}, at)
		return err
	}
	for round := range 3 { // every object once per interval, three intervals running
		for i := range held {
			at := t0.Add(time.Duration(round)*cfg.ChallengeInterval + time.Duration(i)*cfg.ChallengeInterval/held)
			if err := challenge(i, at); err != nil {
				t.Fatalf("round %d, challenge %d of %d in one interval: %v", round, i, held, err)
			}
		}
	}
	limited := 0
	storm := t0.Add(time.Hour)
	need := held + 10*cfg.RoundSample
	for i := range 10 * need {
		if errors.Is(challenge(i, storm.Add(time.Duration(i)*cfg.ChallengeInterval/time.Duration(10*need))), ErrRateLimited) {
			limited++
		}
	}
	if limited < 5*need {
		t.Errorf("a storm of %d items in one interval: only %d limited", 10*need, limited)
	}
}

func FuzzDecodeChallenge(f *testing.F) {
	ch := Challenge{ID: 42, Items: []Item{{"bafya", []int{0, 3}}, {"bafyb", []int{1}}}, IssuedAt: t0, Deadline: t0}
	good, _ := ch.MarshalBinary()
	f.Add(good)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if ch, err := DecodeChallenge(data); err == nil {
			if again, _ := ch.MarshalBinary(); string(again) != string(data) {
				t.Fatal("decoded challenge does not re-encode to its input")
			}
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte{2, 5, 1, 1})
	good, _ := (&Response{ID: 3, Answers: []Answer{{Digest: [32]byte{1}}, {Refused: true}}}).MarshalBinary()
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := DecodeResponse(data); err == nil {
			if again, _ := r.MarshalBinary(); string(again) != string(data) {
				t.Fatal("decoded response does not re-encode to its input")
			}
		}
	})
}

// TestRechallengeWhenHolderRecoveredDuringTheRoundTrip: a holder refuses a
// challenge because it lost its copy, gets the copy back and re-attests
// while the refusal is still on its way. The challenger must challenge it
// again at once, not a whole interval later: the refusal is dated when
// the challenge was issued, before the new attestation.
func TestRechallengeWhenHolderRecoveredDuringTheRoundTrip(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "us"}})
	a, b := s.byID["a"].core, s.byID["b"].core
	const obj ObjectID = "bafyrace"
	publishTo := func(from *Core, at time.Time) {
		for _, out := range from.Tick(at).Publish {
			if err := a.Receive(out.Attestation, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	challengesOfB := func(acts Actions) []Challenge {
		var out []Challenge
		for _, ch := range acts.Challenges {
			if ch.Holder == "b" {
				out = append(out, ch)
			}
		}
		return out
	}
	s.must(a.Track(obj, TrackOptions{Target: 2, Leaves: 4, Pinned: true}, t0))
	s.must(b.Track(obj, TrackOptions{Target: 2, Leaves: 4}, t0))
	publishTo(b, t0)
	sent := challengesOfB(a.Tick(t0.Add(time.Millisecond)))
	if len(sent) != 1 {
		t.Fatalf("a challenged b %d times after its first attestation; want once", len(sent))
	}
	b.Drop(obj, t0.Add(10*time.Millisecond)) // lost behind its back, then fetched again
	b.Tick(t0.Add(10 * time.Millisecond))
	s.must(b.Track(obj, TrackOptions{Target: 2, Leaves: 4}, t0.Add(20*time.Millisecond)))
	publishTo(b, t0.Add(20*time.Millisecond))
	refused := Response{ID: sent[0].ID, Answers: []Answer{{Refused: true}}}
	if _, err := a.ChallengeResponse("b", refused, [][32]byte{{1}}, t0.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if again := challengesOfB(a.Tick(t0.Add(110 * time.Millisecond))); len(again) != 1 {
		t.Errorf("after a refusal overtaken by b's new attestation, a challenged b %d times; want once, at once", len(again))
	}
}

// TestChallengeAllowanceKeepsUpWithABurst: a node taking on thousands of
// copies in seconds is checked for every one of them, in rounds of a
// thousand, by a peer that shares them all, without a refusal: each copy
// it takes on earns the peer one item.
func TestChallengeAllowanceKeepsUpWithABurst(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "eu"}})
	a := s.byID["a"].core
	a.cfg.ChallengeInterval = time.Minute // the default: the steady rate is low
	const burst = 5000
	var round []Item
	for i := range burst {
		at := t0.Add(time.Duration(i) * 2 * time.Millisecond) // 500 new copies a second
		obj := ObjectID(fmt.Sprintf("obj-%05d", i))
		s.must(a.Track(obj, TrackOptions{Target: 2, Leaves: 4}, at))
		if round = append(round, Item{obj, []int{0, 1, 2, 3}}); len(round) == MaxChallengeItems || i == burst-1 {
			if _, err := a.HandleChallenge("b", Challenge{Items: round}, at); err != nil {
				t.Fatalf("round of %d new copies, after %d: %v", len(round), i+1, err)
			}
			round = nil
		}
	}
	storm := make([]Item, MaxChallengeItems)
	for i := range storm {
		storm[i] = Item{ObjectID(fmt.Sprintf("obj-%05d", i)), []int{0}}
	}
	refused := 0
	for i := range 20 {
		if _, err := a.HandleChallenge("b", Challenge{Items: storm}, t0.Add(11*time.Second+time.Duration(i)*time.Millisecond)); errors.Is(err, ErrRateLimited) {
			refused++
		}
	}
	if refused < 10 {
		t.Errorf("20 full rounds in 20 ms with no new copies: %d refused, want most", refused)
	}
}

// TestChallengeAllowanceWeighsBlocks: a peer cannot read sixteen times
// as many blocks out of this node by asking for 64 blocks per item.
func TestChallengeAllowanceWeighsBlocks(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "eu"}})
	a := s.byID["a"].core
	a.cfg.ChallengeInterval = time.Minute
	s.must(a.Track("big", TrackOptions{Target: 2, Leaves: 64}, t0))
	wide := make([]int, 64)
	for i := range wide {
		wide[i] = i
	}
	allowed := 0
	for i := range 100 {
		if _, err := a.HandleChallenge("b", Challenge{Items: []Item{{"big", wide}}}, t0.Add(time.Duration(i)*time.Millisecond)); err == nil {
			allowed++
		}
	}
	rate, burst := a.challengeAllowance()
	if most := int((burst+rate)/(64/float64(a.cfg.ChallengeLeaves))) + 1; allowed > most {
		t.Errorf("%d rounds of one 64-block item allowed in 100 ms, want at most %d", allowed, most)
	}
}

// TestLateAnswerQueuesFirstCheckAgain: the answer to a round that
// carried a new copy's first check comes after the deadline, before a
// Tick expired the round (a loaded challenger). Nothing is judged, as for
// a round lost on the way, and the copy is queued again at once, as the
// expiry would queue it: it is not left unchecked until the pair's next
// sampled round, an interval later.
func TestLateAnswerQueuesFirstCheckAgain(t *testing.T) {
	s := newSim(t, []simSpec{{"a", "A", "eu"}, {"b", "B", "us"}})
	a, b := s.byID["a"].core, s.byID["b"].core
	hold := func(obj ObjectID, at time.Time) {
		s.must(a.Track(obj, TrackOptions{Target: 2, Leaves: 4, Pinned: true}, at))
		s.must(b.Track(obj, TrackOptions{Target: 2, Leaves: 4}, at))
		for _, out := range b.Tick(at).Publish {
			s.must(a.Receive(out.Attestation, at))
		}
	}
	roundOf := func(acts Actions) *Challenge {
		for _, ch := range acts.Challenges {
			if ch.Holder == "b" {
				return &ch
			}
		}
		return nil
	}
	answer := func(ch *Challenge) (Response, [][32]byte) {
		resp := Response{ID: ch.ID, Answers: make([]Answer, len(ch.Items))}
		want := make([][32]byte, len(ch.Items))
		for i, it := range ch.Items {
			want[i] = Digest(ch.Nonce, pick(testBlocks(it.Object, 4), it.Leaves))
			resp.Answers[i].Digest = want[i]
		}
		return resp, want
	}

	hold("bafyold", t0)
	first := roundOf(a.Tick(t0))
	if first == nil || !first.Sampled {
		t.Fatalf("a's first round with b: %+v, want a sampled one", first)
	}
	resp, want := answer(first)
	if _, err := a.ChallengeResponse("b", resp, want, t0.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(200 * time.Millisecond)
	hold("bafynew", now)
	round := roundOf(a.Tick(now))
	if round == nil || round.Sampled || len(round.Items) != 1 || round.Items[0].Object != "bafynew" {
		t.Fatalf("round for b's new copy: %+v, want one unsampled item, bafynew", round)
	}

	late := round.Deadline.Add(time.Millisecond)
	resp, want = answer(round)
	results, err := a.ChallengeResponse("b", resp, want, late)
	if err != nil || len(results) != 1 || results[0] != ResultNone {
		t.Fatalf("answer after the deadline: %v, %v; want the item unjudged", results, err)
	}
	if _, _, ok := a.ledger.Check("bafynew", "a", "b"); ok {
		t.Fatal("an answer after the deadline was recorded as a check")
	}
	again := roundOf(a.Tick(late.Add(time.Millisecond)))
	if again == nil || !slices.ContainsFunc(again.Items, func(it Item) bool { return it.Object == "bafynew" }) {
		t.Fatalf("next Tick after the late answer: round %+v; want b's new copy checked again at once, not at the next sampled round (in %s)",
			again, a.rounds.pairs["b"].next.Sub(late))
	}
}
