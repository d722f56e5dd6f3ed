package status

import (
	"crypto/ed25519"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/replication"
)

// TestPlan: quick passes are redone on each request; a slow one is
// served for ten times its duration (at most maxSnapReuse), then served
// once more while one background refresh runs.
func TestPlan(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name       string
		took       time.Duration // of the kept pass; 0: none kept
		age        time.Duration // of the kept pass when asked
		refreshing bool
		want       Next
	}{
		{"nothing kept", 0, 0, false, PassNow},
		{"quick pass", syncPass - time.Millisecond, 0, false, PassNow},
		{"slow, recent", time.Second, 9 * time.Second, false, Serve},
		{"slow, ten times its duration", time.Second, 10 * time.Second, false, Refresh},
		{"slow, refresh running", time.Second, time.Minute, true, Serve},
		{"very slow, recent", 10 * time.Second, 29 * time.Second, false, Serve},
		{"very slow, past the reuse cap", 10 * time.Second, maxSnapReuse, false, Refresh},
	} {
		var c Cache
		var kept *Snapshot
		if tc.took > 0 {
			kept = NewSnapshot(nil, t0, tc.took)
			c.Keep(kept)
		}
		c.refreshing = tc.refreshing
		snap, next := c.Plan(t0.Add(tc.age))
		if snap != kept || next != tc.want {
			t.Errorf("%s: Plan gives %v (kept pass: %v), want %v", tc.name, next, snap == kept, tc.want)
		}
	}
}

// TestRefreshOnce: a stale pass asks for one refresh until Refreshed.
func TestRefreshOnce(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var c Cache
	c.Keep(NewSnapshot(nil, t0, time.Second))
	late := t0.Add(time.Minute)
	for i, want := range []Next{Refresh, Serve, Serve} {
		if _, got := c.Plan(late); got != want {
			t.Errorf("request %d: %v, want %v", i, got, want)
		}
	}
	c.Refreshed()
	if _, got := c.Plan(late); got != Refresh {
		t.Errorf("after Refreshed: %v, want Refresh", got)
	}
}

// TestKeepLatest: a pass that read the ledger earlier than the kept one
// (a slow background pass ending after a quick one) is not kept.
func TestKeepLatest(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var c Cache
	early, late := NewSnapshot(nil, t0, time.Second), NewSnapshot(nil, t0.Add(time.Second), time.Second)
	for _, step := range []struct {
		keep, want *Snapshot
	}{{late, late}, {early, late}, {late, late}} {
		c.Keep(step.keep)
		if got, _ := c.Plan(t0); got != step.want {
			t.Errorf("kept the pass of %s, want the one of %s", got.at, step.want.at)
		}
	}
	c.Reset()
	if got, next := c.Plan(t0); got != nil || next != PassNow {
		t.Errorf("after Reset: %v, %v; want no pass and PassNow", got, next)
	}
	c.Keep(early)
	if got, _ := c.Plan(t0); got != early {
		t.Error("after Reset, an earlier pass than the dropped one was not kept")
	}
}

// TestSorted: objects come in CID order, and are listed and sorted again
// only when the core's object set changed.
func TestSorted(t *testing.T) {
	cfg := replication.DefaultConfig()
	cfg.Key = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	cfg.Rand = rand.NewChaCha8([32]byte{})
	core, err := replication.New(cfg, "12D3KooWSelf")
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	read := func(fn func(*replication.Core)) { reads++; fn(core) }
	apply := func(obj string) {
		core.Ledger().Apply(replication.Attestation{Object: replication.ObjectID(obj), Holder: "12D3KooWHolder", Seq: 1,
			IssuedAt: time.Unix(1_700_000_000, 0), Held: true, Target: 1, Leaves: 4, Signature: make([]byte, 64)})
	}
	var c Cache
	if got := c.Sorted(read); len(got) != 0 {
		t.Fatalf("an empty core lists %v", got)
	}
	for _, obj := range []string{"bafyc", "bafya", "bafyb"} {
		apply(obj)
	}
	first := c.Sorted(read)
	if want := []replication.ObjectID{"bafya", "bafyb", "bafyc"}; !slices.Equal(first, want) {
		t.Fatalf("sorted %v, want %v", first, want)
	}
	if again := c.Sorted(read); &again[0] != &first[0] {
		t.Error("an unchanged set was sorted again")
	}
	apply("bafy0")
	if got := c.Sorted(read); len(got) != 4 || got[0] != "bafy0" {
		t.Errorf("after a new object: %v, want bafy0 first of 4", got)
	}
	if reads != 4 {
		t.Errorf("%d reads of the core, want one a call (4)", reads)
	}
}
