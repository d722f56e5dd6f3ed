package replication

import (
	"testing"
	"time"
)

// TestRepairOrderIsKeptBetweenTicks: the queue's order is made once and
// kept while fetches end, so a long queue is not sorted again at each
// Tick; an object queued since waits for the next ordering, which comes
// when every object listed has started, or reorderPeriod after the last.
func TestRepairOrderIsKeptBetweenTicks(t *testing.T) {
	cfg := simConfig("self")
	cfg.MaxConcurrentRepairs = 1
	c, err := New(cfg, "self")
	if err != nil {
		t.Fatal(err)
	}
	queue := func(obj ObjectID, copies int) {
		c.repairs[obj] = repairJob{copies: copies, group: "g"}
		c.order.added = true
	}
	next := func(at time.Time) ObjectID {
		t.Helper()
		c.out = Actions{}
		c.fetching = map[ObjectID]string{}
		c.startRepairs(at)
		if len(c.out.Fetches) != 1 {
			t.Fatalf("%d fetches started, want 1", len(c.out.Fetches))
		}
		return c.out.Fetches[0].Object
	}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, obj := range []ObjectID{"a", "b", "c"} {
		queue(obj, 2)
	}
	if got := next(t0); got != "a" {
		t.Fatalf("first fetch %s, want a", got)
	}
	queue("z", 0) // fewer copies: first at the next ordering
	if got := next(t0.Add(100 * time.Millisecond)); got != "b" {
		t.Errorf("fetch after z was queued: %s, want b from the kept order", got)
	}
	if got := next(t0.Add(reorderPeriod(len(c.repairs)))); got != "z" {
		t.Errorf("fetch a reorder period later: %s, want z", got)
	}
	queue("y", 0)
	if got := next(t0.Add(reorderPeriod(len(c.repairs)) + time.Millisecond)); got != "c" {
		t.Errorf("fetch just after the reorder: %s, want c", got)
	}
	if got := next(t0.Add(reorderPeriod(len(c.repairs)) + 2*time.Millisecond)); got != "y" {
		t.Errorf("fetch once every listed object started: %s, want y at once", got)
	}
}
