package replication

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"testing"
	"time"
)

// bigSim is a federation of n members, each its own operator, spread over
// four regions: larger than any object's audience.
func bigSim(t *testing.T, n int) *sim {
	var specs []simSpec
	for i := range n {
		specs = append(specs, simSpec{fmt.Sprintf("n%02d", i), fmt.Sprintf("op%02d", i), []string{"eu", "us", "ap", "sa"}[i%4]})
	}
	return newSim(t, specs)
}

// TestScenarioAttestationsReachOnlyTheAudience: in a federation of 16, a
// node hears of an object only if it holds a copy or ranks among the first
// target+AudienceSpare members for it, and every object still gets backed
// up as its owner sees it.
func TestScenarioAttestationsReachOnlyTheAudience(t *testing.T) {
	s := bigSim(t, 16)
	var objs []ObjectID
	for i := range 12 {
		obj := ObjectID(fmt.Sprintf("bafyscoped%02d", i))
		objs = append(objs, obj)
		s.add("n00", obj, 3)
	}
	s.runUntil(20*time.Second, "every object backed up as its owner sees it", func() bool {
		for _, obj := range objs {
			if s.status("n00", obj).Copies < 3 {
				return false
			}
		}
		return true
	})
	unaware := 0
	for _, obj := range objs {
		allowed := topRanked(obj, s.members, 3+AudienceSpare)
		allowed = append(allowed, s.holdersWithBlocks(obj)...)
		for _, n := range s.nodes {
			if !n.core.Status(obj, s.now).Known {
				unaware++
				continue
			}
			if !slices.Contains(allowed, n.id) {
				t.Errorf("%s knows %s but neither holds it nor ranks in its first %d", n.id, obj, 3+AudienceSpare)
			}
		}
	}
	if unaware == 0 {
		t.Error("every node knows every object: attestations were not scoped")
	}
}

// TestScenarioRepairReachesCandidatesBeyondTheAudience: both copies
// besides the owner's are lost and every other member of the object's
// first audience is down too. Escalation widens the candidates one at a
// time; the owner tells each new candidate, so members that had never
// heard of the object fetch it, and the owner counts three copies again.
func TestScenarioRepairReachesCandidatesBeyondTheAudience(t *testing.T) {
	s := bigSim(t, 12)
	const obj ObjectID = "bafyfar"
	s.add("n00", obj, 3)
	s.runUntil(20*time.Second, "placement", func() bool { return s.status("n00", obj).Copies == 3 })
	first := append(topRanked(obj, s.members, 3+AudienceSpare), s.holdersWithBlocks(obj)...)
	for _, p := range first {
		if p != "n00" {
			s.byID[p].killed = true
		}
	}
	killedAt := s.now
	s.runUntil(20*time.Second, "the lost copies to stop counting", func() bool { return s.status("n00", obj).Copies == 1 })
	s.runUntil(5*time.Minute, "repair beyond the first audience", func() bool { return s.status("n00", obj).Copies == 3 })
	for _, f := range s.fetchesAfter(killedAt) {
		if slices.Contains(first, f.node) {
			t.Errorf("%s fetched, but it is down", f.node)
		}
	}
	if len(s.fetchesAfter(killedAt)) < 2 {
		t.Errorf("repair fetched %d copies, want at least 2", len(s.fetchesAfter(killedAt)))
	}
}

// TestSourcesFromLedgerThenRank: a node that holds attestations of an
// object lists its holders first; a node that never heard of it lists the
// object's first ranked members, where placement put the copies; neither
// lists itself, and the limit holds.
func TestSourcesFromLedgerThenRank(t *testing.T) {
	s := bigSim(t, 16)
	obj := ObjectID("bafysources")
	s.add("n00", obj, 3)
	s.runUntil(20*time.Second, "the object backed up as its owner sees it", func() bool {
		return s.status("n00", obj).Copies >= 3
	})
	holders := s.holdersWithBlocks(obj)
	var knows, unaware *simNode
	for _, n := range s.nodes {
		switch known := n.core.Status(obj, s.now).Known; {
		case known && n.id != "n00" && knows == nil:
			knows = n
		case !known && unaware == nil:
			unaware = n
		}
	}
	if knows == nil || unaware == nil {
		t.Fatal("need a node that knows the object and one that does not")
	}
	got := knows.core.Sources(obj, 10)
	for _, h := range holders {
		if h != knows.id && !slices.Contains(got[:len(holders)], h) {
			t.Errorf("%s: sources %v do not start with holder %s (holders %v)", knows.id, got, h, holders)
		}
	}
	if slices.Contains(got, knows.id) {
		t.Errorf("%s lists itself among its sources %v", knows.id, got)
	}
	fresh := unaware.core.Sources(obj, 3+AudienceSpare)
	ranked := topRanked(obj, s.members, 3+AudienceSpare)
	found := 0
	for _, h := range holders {
		if slices.Contains(fresh, h) {
			found++
		}
	}
	if found == 0 {
		t.Errorf("%s never heard of %s: sources %v hold none of its copies %v", unaware.id, obj, fresh, holders)
	}
	for _, p := range fresh {
		if !slices.Contains(ranked, p) {
			t.Errorf("%s: source %s is neither a holder it knows of nor among the first ranked %v", unaware.id, p, ranked)
		}
	}
	if got := knows.core.Sources(obj, 1); len(got) != 1 {
		t.Errorf("Sources with limit 1 gave %v", got)
	}
}

// TestMissingBoundsRanking: one anti-entropy answer ranks the members
// for at most maxAnswerRanking/members objects this node does not hold,
// so one pull cannot make it rank every member for every object of its
// ledger; records of the puller's own copies, and of objects this node
// holds, are answered whatever the bound.
func TestMissingBoundsRanking(t *testing.T) {
	now := t0
	c := newTestCore(t, "self")
	var members []Member
	for i := range 16 {
		members = append(members, Member{Peer: PeerID(fmt.Sprintf("m%02d", i)), Operator: fmt.Sprintf("op%02d", i), Region: []string{"eu", "us", "ap"}[i%3]})
	}
	members = append(members, Member{Peer: "self", Operator: "op-self", Region: "eu"})
	c.SetMembers(members, now)
	const asker, holder = PeerID("m00"), PeerID("m01")
	bound := maxAnswerRanking / len(members)
	sig := make([]byte, ed25519.SignatureSize)
	seq := uint64(0)
	attest := func(obj ObjectID, h PeerID) {
		seq++
		c.ledger.Apply(Attestation{Object: obj, Holder: h, Seq: seq, IssuedAt: now, Held: true, Leaves: 1, Signature: sig})
	}
	// Objects of another holder for which the asker ranks among the
	// first members: each is answered only if the bound lets it be ranked.
	var rankedObjs []ObjectID
	for i := 0; len(rankedObjs) < bound+100; i++ {
		obj := ObjectID(fmt.Sprintf("bafyranked%06d", i))
		if slices.Contains(topRanked(obj, c.roster, c.targetOf(obj, nil)+AudienceSpare), asker) {
			attest(obj, holder)
			rankedObjs = append(rankedObjs, obj)
		}
	}
	attest("bafyaskers", asker) // the asker's own copy
	got := c.Missing(Summary{}, asker)
	answered := 0
	for _, a := range got {
		if a.Holder == holder {
			answered++
		}
	}
	if answered != bound {
		t.Errorf("answered %d records of objects ranked anew, want the bound, %d", answered, bound)
	}
	if !slices.ContainsFunc(got, func(a Attestation) bool { return a.Object == "bafyaskers" }) {
		t.Error("the asker's own copy was not answered once the bound was reached")
	}
	for _, obj := range rankedObjs {
		if !c.InAudience(obj, asker) { // InAudience itself is not bounded
			t.Fatalf("InAudience(%s, %s) = false, want true", obj, asker)
		}
	}
}
