package replication

import (
	"testing"
	"time"
)

// TestHeldSince: a tracked copy is dated by TrackOptions.Since, or by
// the time it was tracked; a fetched copy by when its fetch finished; a
// dropped copy has no date. Overviews date it as Status does.
func TestHeldSince(t *testing.T) {
	c := newTestCore(t, "a")
	since := t0.Add(-72 * time.Hour)
	if err := c.Track("bafyold", TrackOptions{Leaves: 1, Since: since}, t0); err != nil {
		t.Fatal(err)
	}
	if err := c.Track("bafynew", TrackOptions{Leaves: 1}, t0); err != nil {
		t.Fatal(err)
	}
	if got := c.Status("bafyold", t0).HeldSince; !got.Equal(since) {
		t.Errorf("tracked with Since: HeldSince %v, want %v", got, since)
	}
	if got := c.Status("bafynew", t0).HeldSince; !got.Equal(t0) {
		t.Errorf("tracked without Since: HeldSince %v, want %v", got, t0)
	}
	checkOverviews := func(when string) {
		t.Helper()
		objs := []ObjectID{"bafynever", "bafynew", "bafyold"}
		for i, o := range c.Overviews(nil, objs, t0) {
			if want := c.Status(objs[i], t0).HeldSince; !o.HeldSince.Equal(want) {
				t.Errorf("%s: overview of %s: HeldSince %v, status says %v", when, objs[i], o.HeldSince, want)
			}
		}
	}
	checkOverviews("tracked")
	c.Drop("bafyold", t0)
	if got := c.Status("bafyold", t0).HeldSince; !got.IsZero() {
		t.Errorf("dropped: HeldSince %v, want none", got)
	}
	if got := c.Status("bafynever", t0).HeldSince; !got.IsZero() {
		t.Errorf("never held: HeldSince %v, want none", got)
	}
	checkOverviews("dropped")
}
