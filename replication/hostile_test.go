package replication

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// These tests play one compromised member, "m": an admitted member with
// its own key, sending whatever a member may send. What it says about
// objects it does not own must change nothing on honest nodes.

func hostileCore(t *testing.T) *Core {
	t.Helper()
	c := newTestCore(t, "self")
	c.SetMembers([]Member{
		{Peer: "self", Operator: "S", Region: "eu", PublicKey: testKey("self").Public().(ed25519.PublicKey)},
		{Peer: "h", Operator: "H", Region: "us", PublicKey: testKey("h").Public().(ed25519.PublicKey)},
		{Peer: "m", Operator: "M", Region: "ap", PublicKey: testKey("m").Public().(ed25519.PublicKey)},
	}, t0)
	return c
}

// claim is m's signed attestation of obj, built by change.
func claim(obj ObjectID, seq uint64, change func(*Attestation)) Attestation {
	a := Attestation{Object: obj, Holder: "m", Seq: seq, IssuedAt: t0, Held: true, Target: 3, Leaves: 8}
	if change != nil {
		change(&a)
	}
	a.Sign(testKey("m"))
	return a
}

func TestHostileBlockCountIsNeverUsed(t *testing.T) {
	c := hostileCore(t)
	if err := c.Track(obj1, TrackOptions{Target: 3, Leaves: 8, Pinned: true}, t0); err != nil {
		t.Fatal(err)
	}
	if err := c.Receive(claim(obj1, 1, func(a *Attestation) { a.Leaves = 1<<30 + 7 }), t0); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	c.PeerDown("m", t0.Add(time.Second)) // a reconnect
	c.PeerUp("m", t0.Add(time.Second))
	c.Tick(t0.Add(time.Second))
	if lo := c.local[obj1]; lo.leaves != 8 {
		t.Errorf("own copy has %d leaves after m's claim, want 8", lo.leaves)
	}
	for i := range 50 {
		pr := c.rounds.pair("m")
		pr.queued[obj1] = true
		items, err := c.queuedItems(pr, MaxChallengeItems)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if last := it.Leaves[len(it.Leaves)-1]; last >= 8 {
				t.Fatalf("draw %d: this node challenges leaf %d of its own 8-block copy", i, last)
			}
		}
	}
	past := Challenge{ID: 1, Holder: "self", Items: []Item{{obj1, []int{3, 1 << 29}}}}
	if refuse, err := c.HandleChallenge("m", past, t0); err != nil || !refuse[0] {
		t.Errorf("a challenge past the end of the copy: refuse %v, %v; want refused", refuse, err)
	}
	if !c.Holds(obj1) {
		t.Error("the owner's copy was dropped")
	}
}

func TestHostileTargetComesFromTheOwnersPolicyOnly(t *testing.T) {
	c := hostileCore(t)
	if err := c.SetPolicy(testPolicy(obj1, 1, 2), t0); err != nil {
		t.Fatal(err)
	}
	if err := c.Receive(claim(obj1, 1, func(a *Attestation) { a.Target = 255 }), t0); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if got := c.Status(obj1, t0).Target; got != 2 {
		t.Errorf("target after m claims 255: %d, want the owner's 2", got)
	}
	// The owner of an object may ask for many copies, but no node works
	// to more than MaxTarget.
	if err := c.SetPolicy(testPolicy(obj1, 2, 255), t0); err != nil {
		t.Fatal(err)
	}
	if got := c.Status(obj1, t0).Target; got != c.cfg.MaxTarget {
		t.Errorf("target of an owner's policy asking 255: %d, want the cap %d", got, c.cfg.MaxTarget)
	}
	// Without a policy an attested target is still never used.
	c2 := hostileCore(t)
	if err := c2.Receive(claim("other", 1, func(a *Attestation) { a.Target = 255 }), t0); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if got := c2.Status("other", t0).Target; got != DefaultConfig().DefaultTarget {
		t.Errorf("target of an object with no policy after m claims 255: %d, want the default", got)
	}
}

func TestHostilePolicyForgeries(t *testing.T) {
	mine := testPolicy(obj1, 5, 3)
	forgedBy := func(key ed25519.PrivateKey, change func(*Policy)) *Policy {
		p := mine
		change(&p)
		p.Sign(key)
		return &p
	}
	mKey := testKey("m")
	tests := []struct {
		name string
		p    *Policy
		want error
	}{
		{"signed by m for the owner's root", forgedBy(mKey, func(p *Policy) { p.Version, p.Target = 9, 255 }), ErrNotOwnerSigned},
		{"m's own root for the owner's object", forgedBy(mKey, func(p *Policy) {
			p.Version, p.Target, p.Root = 9, 255, testRoot(obj1, mKey.Public().(ed25519.PublicKey))
		}), ErrNotBound},
		{"a root of another object", forgedBy(mKey, func(p *Policy) {
			p.Version, p.Root = 9, testRoot("m-object", mKey.Public().(ed25519.PublicKey))
		}), ErrNotBound},
		{"no root", forgedBy(ownerKey(obj1), func(p *Policy) { p.Version, p.Root = 9, nil }), ErrMalformed},
		{"target changed after signing", func() *Policy { p := mine; p.Target = 200; return &p }(), ErrNotOwnerSigned},
	}
	for i, tt := range tests {
		c := hostileCore(t)
		if err := c.SetPolicy(mine, t0); err != nil {
			t.Fatal(err)
		}
		err := c.Receive(claim(obj1, uint64(i+1), func(a *Attestation) { a.Policy = tt.p }), t0)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Receive = %v, want %v", tt.name, err, tt.want)
		}
		if p, owner, _ := c.Policy(obj1); p.Version != 5 || p.Target != 3 || string(owner) != string(ownerKey(obj1).Public().(ed25519.PublicKey)) {
			t.Errorf("%s: policy now v%d target %d", tt.name, p.Version, p.Target)
		}
		if _, ok := c.ledger.Get(obj1, "m"); ok {
			t.Errorf("%s: the attestation carrying a forged policy was recorded", tt.name)
		}
	}
}

func TestPolicyNewestVersionWinsWhoeverRelaysIt(t *testing.T) {
	c := hostileCore(t)
	old, cur := testPolicy(obj1, 1, 2), testPolicy(obj1, 2, 4)
	if err := c.Receive(claim(obj1, 1, func(a *Attestation) { a.Policy = &cur }), t0); err != nil {
		t.Fatal(err)
	}
	// m withholds the new policy and replays the old one: no effect.
	if err := c.Receive(claim(obj1, 2, func(a *Attestation) { a.Policy = &old }), t0); err != nil {
		t.Fatal(err)
	}
	if got := c.Status(obj1, t0).Target; got != 4 {
		t.Errorf("target after a replayed old policy: %d, want 4", got)
	}
	if got, _ := c.ledger.Get(obj1, "m"); got.Policy == nil || got.Policy.Version != 2 {
		t.Errorf("records are relayed with policy %+v, want the newest (v2)", got.Policy)
	}
}

func TestHostileFloodOfMadeUpObjectsIsBounded(t *testing.T) {
	c := hostileCore(t)
	c.cfg.MaxEntriesPerMember = 100
	c.cfg.AttestBurst = 1000
	var refused int
	for i := range 500 {
		err := c.Receive(claim(ObjectID(fmt.Sprintf("junk-%d", i)), uint64(i+1), nil), t0)
		switch {
		case errors.Is(err, ErrOverBound):
			refused++
		case err != nil:
			t.Fatalf("object %d: %v", i, err)
		}
	}
	if got := c.ledger.count("m"); got != 100 || refused != 400 {
		t.Errorf("m keeps %d records here, %d refused; want 100 and 400", got, refused)
	}
	// Objects this node holds are always heard of, whatever the bound.
	if err := c.Track(obj1, TrackOptions{Target: 3, Leaves: 8, Pinned: true}, t0); err != nil {
		t.Fatal(err)
	}
	if err := c.Receive(claim(obj1, 1000, nil), t0); err != nil {
		t.Errorf("m's record of a shared object: %v", err)
	}
	// An honest member is unaffected.
	h := Attestation{Object: "h-object", Holder: "h", Seq: 1, IssuedAt: t0, Held: true, Target: 3, Leaves: 1}
	h.Sign(testKey("h"))
	if err := c.Receive(h, t0); err != nil {
		t.Errorf("an honest member's record: %v", err)
	}
}

func TestHostileAttestationRateIsBounded(t *testing.T) {
	c := hostileCore(t)
	c.cfg.AttestRate, c.cfg.AttestBurst = 10, 20
	if err := c.Track(obj1, TrackOptions{Target: 3, Leaves: 8, Pinned: true}, t0); err != nil {
		t.Fatal(err)
	}
	var refused int
	for i := range 100 {
		if err := c.Receive(claim(obj1, uint64(i+1), nil), t0); errors.Is(err, ErrOverBound) {
			refused++
		}
	}
	if refused != 80 {
		t.Errorf("%d of 100 attestations in one instant refused, want 80 beyond the burst of 20", refused)
	}
	if err := c.Receive(claim(obj1, 1000, nil), t0.Add(time.Second)); err != nil {
		t.Errorf("a second later: %v, want accepted", err)
	}
}

func TestHostileMadeUpObjectsAreNeverFetched(t *testing.T) {
	c := hostileCore(t)
	c.SetMembers([]Member{
		{Peer: "self", Operator: "S", Region: "eu", PublicKey: testKey("self").Public().(ed25519.PublicKey)},
		{Peer: "m", Operator: "M", Region: "ap", PublicKey: testKey("m").Public().(ed25519.PublicKey)},
	}, t0)
	for i := range 50 {
		if err := c.Receive(claim(ObjectID(fmt.Sprintf("junk-%d", i)), uint64(i+1), nil), t0); err != nil {
			t.Fatal(err)
		}
	}
	// A real object of the owner, attested by m with its policy: fetched.
	p := testPolicy(obj1, 1, 2)
	if err := c.Receive(claim(obj1, 100, func(a *Attestation) { a.Policy = &p }), t0); err != nil {
		t.Fatal(err)
	}
	var fetched []ObjectID
	for s := range 200 {
		for _, f := range c.Tick(t0.Add(time.Duration(s) * time.Second)).Fetches {
			fetched = append(fetched, f.Object)
			if err := c.FetchDone(f.Object, 0, t0.Add(time.Duration(s)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, obj := range fetched {
		if obj != obj1 {
			t.Fatalf("fetched %s, an object with no owner's policy", obj)
		}
	}
	if len(fetched) == 0 {
		t.Error("the owner's object, short of its target, was never fetched")
	}
}

func TestHostileForgeriesCannotUseUpAnotherMembersShare(t *testing.T) {
	c := hostileCore(t)
	c.cfg.AttestRate, c.cfg.AttestBurst = 1, 5
	for i := range 50 { // m signs with its own key, claiming to be h
		a := Attestation{Object: ObjectID(fmt.Sprintf("obj-%d", i)), Holder: "h", Seq: uint64(i + 1), IssuedAt: t0, Held: true, Target: 3, Leaves: 1}
		a.Sign(testKey("m"))
		if err := c.Receive(a, t0); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("forged attestation %d: %v, want ErrBadSignature", i, err)
		}
	}
	h := Attestation{Object: "h-object", Holder: "h", Seq: 1, IssuedAt: t0, Held: true, Target: 3, Leaves: 1}
	h.Sign(testKey("h"))
	if err := c.Receive(h, t0); err != nil {
		t.Errorf("h's own attestation after m's forgeries in its name: %v", err)
	}
}

func TestHostileUnservedObjectsCannotStarveRepair(t *testing.T) {
	c := hostileCore(t)
	// m owns 50 objects with valid policies and claims to hold them, but
	// serves no block: every fetch of them stalls.
	for i := range 50 {
		obj := ObjectID(fmt.Sprintf("m-object-%02d", i))
		p := testPolicy(obj, 1, 2)
		if err := c.Receive(claim(obj, uint64(i+1), func(a *Attestation) { a.Policy = &p }), t0); err != nil {
			t.Fatal(err)
		}
	}
	// h's object, sorted last, needs a copy too.
	honest := ObjectID("zz-h-object")
	p := testPolicy(honest, 1, 2)
	a := Attestation{Object: honest, Holder: "h", Seq: 1, IssuedAt: t0, Held: true, Target: 2, Leaves: 4, Policy: &p}
	a.Sign(testKey("h"))
	if err := c.Receive(a, t0); err != nil {
		t.Fatal(err)
	}
	var fetched []ObjectID
	for s := range 5 {
		for _, f := range c.Tick(t0.Add(time.Duration(s) * time.Second)).Fetches {
			fetched = append(fetched, f.Object) // never done: they stall
		}
	}
	if !slices.Contains(fetched, honest) {
		t.Fatalf("fetches started %v: h's object waits behind m's unserved ones", fetched)
	}
	if len(fetched) != c.cfg.MaxConcurrentRepairs {
		t.Errorf("%d fetches in flight, want the cap %d", len(fetched), c.cfg.MaxConcurrentRepairs)
	}
}
