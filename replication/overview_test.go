package replication

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomCore builds a core for "self" whose ledger mixes everything the
// counting rule distinguishes: members of shared and distinct operators
// and regions, holders that are not members, released copies, pinned
// owners, proofs by this node, by the holder's own operator and by
// non-members, passes, failures and stale passes, local copies with and
// without a ledger record, and objects fully replicated in the past.
func randomCore(t testing.TB, seed uint64, objects int, now time.Time) (*Core, []ObjectID) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	c := newTestCore(t, "self")
	peers := []PeerID{"self"}
	var members []Member
	for i := range 7 {
		peers = append(peers, PeerID(fmt.Sprintf("peer-%d", i)))
	}
	for _, p := range peers[:6] { // peer-5 and peer-6 are not members
		members = append(members, Member{Peer: p, Operator: fmt.Sprintf("op-%d", r.IntN(4)), Region: fmt.Sprintf("region-%d", r.IntN(3))})
	}
	c.SetMembers(members, now)
	sig := make([]byte, 64)
	pick := func(n int) []PeerID { // n distinct peers
		ps := slices.Clone(peers)
		r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		return ps[:n]
	}
	ago := func() time.Time { return now.Add(-time.Duration(r.IntN(400)) * time.Second) }
	var objs []ObjectID
	for i := range objects {
		obj := ObjectID(fmt.Sprintf("obj-%04d", i))
		objs = append(objs, obj)
		holders := pick(r.IntN(5))
		for j, h := range holders {
			var proofs []Proof
			for _, p := range pick(r.IntN(4)) {
				if p != h {
					proofs = append(proofs, Proof{Peer: p, At: ago(), Result: Result(r.IntN(4))})
				}
			}
			sortedByPeer(proofs)
			c.ledger.Apply(Attestation{Object: obj, Holder: h, Seq: uint64(i + 1), IssuedAt: now, Held: r.IntN(5) > 0,
				Pinned: j == 0 && r.IntN(2) == 0, Target: 1 + r.IntN(4), Leaves: 4, Proofs: proofs, Signature: sig})
		}
		if r.IntN(3) == 0 {
			c.ledger.RecordCheck(obj, "self", pick(1)[0], ago(), Result(r.IntN(4)))
		}
		if r.IntN(3) == 0 {
			if err := c.Track(obj, TrackOptions{Target: 1 + r.IntN(4), Leaves: 4, Pinned: r.IntN(2) == 0}, now); err != nil {
				t.Fatal(err)
			}
			if r.IntN(4) == 0 {
				c.Drop(obj, now)
			}
		}
		if r.IntN(4) == 0 {
			c.RememberFull(obj, now.Add(-time.Hour)) // fully replicated then, if it was
		}
	}
	return c, append(objs, "never-heard-of")
}

// TestOverviewsAgreeWithStatus: on randomised ledgers, the fast pass says
// of every object what Status says.
func TestOverviewsAgreeWithStatus(t *testing.T) {
	now := t0.Add(time.Hour)
	seen := map[string]int{}
	for seed := range uint64(20) {
		c, objs := randomCore(t, seed, 300, now)
		fast := c.Overviews(nil, objs, now)
		for i, obj := range objs {
			want := overviewOf(c.Status(obj, now))
			if fast[i] != want {
				t.Fatalf("seed %d, %s:\n Overviews %+v\n Status    %+v\n holders %+v", seed, obj, fast[i], want, c.Status(obj, now).Holders)
			}
			noteCases(seen, want)
		}
	}
	for _, k := range []string{"full", "short", "none", "several regions", "owner claims", "others claim", "pending",
		"safe offline", "owned here", "held locally", "unknown", "verified at", "remembered full"} {
		if seen[k] == 0 {
			t.Errorf("no object of the randomised ledgers is %q: the test misses a case", k)
		}
	}
}

func noteCases(seen map[string]int, o Overview) {
	cases := map[string]bool{"full": o.Target > 0 && o.Copies >= o.Target, "short": o.Copies > 0 && o.Copies < o.Target,
		"none": o.Known && o.Copies == 0, "several regions": o.Regions > 1, "owner claims": o.OwnerClaims,
		"others claim": o.OthersClaim, "pending": o.Pending, "safe offline": o.SafeOffline, "owned here": o.OwnedHere,
		"held locally": o.HeldLocally, "unknown": !o.Known, "verified at": !o.OldestVerified.IsZero(),
		"remembered full": o.Copies < o.Target && !o.LastFullyReplicatedAt.IsZero()}
	for k, v := range cases {
		if v {
			seen[k]++
		}
	}
}

// fullAtT0 is a core for which "obj" (target 1) has one copy, on
// peer-b, verified at t0 by peer-a (which attests a copy too) and stale
// an hour later.
func fullAtT0(t *testing.T) *Core {
	t.Helper()
	c := newTestCore(t, "self")
	c.SetMembers([]Member{{Peer: "peer-a", Operator: "op-a"}, {Peer: "peer-b", Operator: "op-b"}}, t0)
	if err := c.SetPolicy(testPolicy("obj", 1, 1), t0); err != nil {
		t.Fatal(err)
	}
	c.ledger.Apply(Attestation{Object: "obj", Holder: "peer-b", Seq: 1, IssuedAt: t0, Held: true, Target: 1, Leaves: 1,
		Proofs: []Proof{{Peer: "peer-a", At: t0, Result: ResultPass}}, Signature: make([]byte, 64)})
	c.ledger.Apply(Attestation{Object: "obj", Holder: "peer-a", Seq: 1, IssuedAt: t0, Held: true, Target: 1, Leaves: 1,
		Signature: make([]byte, 64)})
	return c
}

// TestOverviewsRemembersFull: the fast pass, like Status, reports when an
// object was last at its target, as remembered, so that a later loss
// reads "at risk".
func TestOverviewsRemembersFull(t *testing.T) {
	c := fullAtT0(t)
	if o := c.Overviews(nil, []ObjectID{"obj"}, t0)[0]; o.Copies != 1 || !o.LastFullyReplicatedAt.Equal(t0) {
		t.Fatalf("overview at t0: %+v, want 1 copy, fully replicated at t0", o)
	}
	c.RememberFull("obj", t0)
	st := c.Status("obj", t0.Add(time.Hour)) // the proof is stale by then
	if st.Copies != 0 || !st.LastFullyReplicatedAt.Equal(t0) {
		t.Errorf("an hour later: %d copies, last fully replicated at %v; want 0 and %v", st.Copies, st.LastFullyReplicatedAt, t0)
	}
}

// TestStatusRememberingRecordsFull: a status shown fully replicated by
// StatusRemembering is remembered at once, so a loss before the next Tick
// reads as the loss of copies the object had; Status alone records
// nothing.
func TestStatusRememberingRecordsFull(t *testing.T) {
	c := fullAtT0(t)
	later := t0.Add(time.Hour) // the proof is stale by then
	if st := c.Status("obj", t0); st.Copies != 1 || !st.LastFullyReplicatedAt.Equal(t0) {
		t.Fatalf("status at t0: %d copies, last full %v; want 1 and t0", st.Copies, st.LastFullyReplicatedAt)
	}
	if st := c.Status("obj", later); !st.LastFullyReplicatedAt.IsZero() {
		t.Fatalf("Status remembered the object full: %v", st.LastFullyReplicatedAt)
	}
	if st := c.StatusRemembering("obj", t0); st.Copies != 1 || !st.LastFullyReplicatedAt.Equal(t0) {
		t.Fatalf("StatusRemembering at t0: %d copies, last full %v; want 1 and t0", st.Copies, st.LastFullyReplicatedAt)
	}
	if st := c.Status("obj", later); st.Copies != 0 || !st.LastFullyReplicatedAt.Equal(t0) {
		t.Errorf("an hour later: %d copies, last fully replicated at %v; want 0 and %v", st.Copies, st.LastFullyReplicatedAt, t0)
	}
}

// TestOverviewsAllocateNothingPerObject: a pass allocates only its table
// of peers, however many objects it covers.
func TestOverviewsAllocateNothingPerObject(t *testing.T) {
	now := t0.Add(time.Hour)
	c, objs := randomCore(t, 1, 500, now)
	dst := make([]Overview, 0, len(objs))
	allocs := testing.AllocsPerRun(20, func() { dst = c.Overviews(dst[:0], objs, now) })
	if allocs > 1 {
		t.Errorf("Overviews of %d objects: %.0f allocations, want at most 1", len(objs), allocs)
	}
}

func TestAppendObjects(t *testing.T) {
	now := t0.Add(time.Hour)
	c, _ := randomCore(t, 2, 200, now)
	if err := c.Track("only-local", TrackOptions{Target: 2, Leaves: 1}, now); err != nil {
		t.Fatal(err)
	}
	got := c.AppendObjects([]ObjectID{"already-there"})
	slices.Sort(got)
	want := append(c.Objects(), "already-there")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("AppendObjects gave %d objects, want the %d of Objects plus the one passed in", len(got), len(want))
	}
}

// BenchmarkOverviewPass is the whole-ledger pass of `cairn status` at
// 1 million objects (3 holders each, two proofs per holder), in chunks of
// 1024 objects as the node reads them, against Status for the same pass.
// The objects are visited in an order unrelated to where their records
// lie in memory, as on a node whose objects arrived in any order. Run it
// with -benchtime=1x -count=5 and take the median.
func BenchmarkOverviewPass(b *testing.B) {
	c, objs := benchCore(b, 1_000_000)
	const chunk = 1024
	b.Run("Overviews", func(b *testing.B) {
		dst := make([]Overview, 0, len(objs))
		for range b.N {
			dst = dst[:0]
			for i := 0; i < len(objs); i += chunk {
				dst = c.Overviews(dst, objs[i:min(i+chunk, len(objs))], t0)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(objs)), "ns/object")
	})
	b.Run("Status", func(b *testing.B) {
		for range b.N {
			for _, obj := range objs {
				c.Status(obj, t0)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(objs)), "ns/object")
	})
}

func benchCore(b *testing.B, objects int) (*Core, []ObjectID) {
	c := newTestCore(b, "self")
	var members []Member
	for _, h := range []PeerID{"12D3KooWHolderAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "12D3KooWHolderBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "12D3KooWHolderCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"} {
		members = append(members, Member{Peer: h, Operator: string(h), Region: "eu"})
	}
	c.SetMembers(members, t0)
	c.ledger = bigLedger(objects)
	objs := c.AppendObjects(nil)
	slices.Sort(objs)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
	return c, objs
}

// TestObjectSetVersion: whenever the set AppendObjects returns changes,
// ObjectSetVersion changes too, through every way objects come and go:
// attestations, challenge records, tracking, fetching and releasing.
func TestObjectSetVersion(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTestCore(t, "self")
	c.SetMembers([]Member{{Peer: "self", Operator: "a", Region: "eu"}, {Peer: "peer", Operator: "b", Region: "us"}}, now)
	set := func() []ObjectID { return slices.Sorted(slices.Values(c.AppendObjects(nil))) }
	r := rand.New(rand.NewPCG(7, 7))
	sig := make([]byte, 64)
	lastSet, lastVersion := set(), c.ObjectSetVersion()
	changes := 0
	for i := range 2000 {
		obj := ObjectID(fmt.Sprintf("obj-%02d", r.IntN(40)))
		now = now.Add(time.Second)
		switch r.IntN(5) {
		case 0:
			c.ledger.Apply(Attestation{Object: obj, Holder: "peer", Seq: uint64(i + 1), IssuedAt: now, Held: true,
				Target: 2, Leaves: 4, Signature: sig})
		case 1:
			c.ledger.RecordCheck(obj, "self", "peer", now, Result(r.IntN(4)))
		case 2:
			_ = c.Track(obj, TrackOptions{Target: 2, Leaves: 4}, now)
		case 3:
			c.Drop(obj, now)
		case 4:
			_ = c.FetchDone(obj, r.IntN(2)*8, now)
		}
		c.Tick(now)
		s, v := set(), c.ObjectSetVersion()
		if !slices.Equal(s, lastSet) {
			changes++
			if v == lastVersion {
				t.Fatalf("step %d: the object set changed (%d -> %d objects) but its version stayed %d", i, len(lastSet), len(s), v)
			}
		}
		lastSet, lastVersion = s, v
	}
	if changes < 10 {
		t.Fatalf("the object set changed only %d times: the test exercises too little", changes)
	}
}
