package netstat

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/replication"
)

const million = 1_000_000

// millionFacts is a federation's worth of objects: mostly backed up, a
// few in every other state.
func millionFacts() []Facts {
	kinds := []Facts{
		{Target: 3, Copies: 3, OwnerHolds: true, OthersHold: true, EverFull: true, PastGrace: true},
		{Target: 3, Copies: 2, OwnerHolds: true, OthersHold: true, EverFull: true, PastGrace: true},
		{Target: 3, Copies: 1, OwnerHolds: true},
		{Target: 3, Copies: 1, OwnerHolds: true, OthersHold: true, Pending: true},
		{Target: 3, OthersHold: true, PastGrace: true},
		{Target: 3, Copies: 3, OthersHold: true, Deletion: Deleting},
	}
	fs := make([]Facts, million)
	for i := range fs {
		fs[i] = kinds[0]
		if i%10 == 0 {
			fs[i] = kinds[(i/10)%len(kinds)]
		}
	}
	return fs
}

// BenchmarkTally1M derives the state of a million objects and counts
// them, as cairn status with no argument does.
func BenchmarkTally1M(b *testing.B) {
	fs := millionFacts()
	var t Tally
	for b.Loop() {
		t = Tally{}
		for _, f := range fs {
			t.Add(f.State())
		}
	}
	if t.Total() != million {
		b.Fatalf("total = %d", t.Total())
	}
}

// BenchmarkOverview1M reads a million rows and returns the tally and a
// page of 50 deep into the listing, as the dashboard overview does.
func BenchmarkOverview1M(b *testing.B) {
	v := testViewer(b)
	fs := millionFacts()
	rows := make([]Row, million)
	for i, f := range fs {
		rows[i] = Row{ID: fmt.Sprintf("bafkrei%08d", (i*7919)%million), State: f.State(), Copies: f.Copies, Target: f.Target}
	}
	after := PageCursor{after: Row{ID: "bafkrei00500000", State: StateBackedUp}, set: true}
	for b.Loop() {
		if o := v.Overview(slices.Values(rows), after, 50); len(o.Rows) != 50 {
			b.Fatalf("page of %d rows", len(o.Rows))
		}
	}
}

// BenchmarkView builds one object's view with five holders, its summary
// and its JSON, as cairn status CID --json does.
func BenchmarkView(b *testing.B) {
	v := testViewer(b)
	in := input(3, time.Hour, owner(), verified("p2", "opB", "eu", 12*time.Second),
		verified("p3", "opC", "us", 20*time.Second), failed("p4", "opD", "us", time.Hour),
		replication.HolderStatus{Peer: "p5", Operator: "opB", Region: "eu", State: replication.HolderUnverified})
	for b.Loop() {
		ov, err := v.Object(in, epoch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(ov); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTally1MFromStatus is BenchmarkTally1M starting from
// replication.ObjectStatus values (three to five holders each), cycling
// over a few distinct objects to keep memory small.
func BenchmarkTally1MFromStatus(b *testing.B) {
	v := testViewer(b)
	ins := []ObjectInput{
		input(3, time.Hour, owner(), verified("p2", "opB", "eu", time.Second), verified("p3", "opC", "us", time.Second)),
		withFull(input(3, time.Hour, owner(), verified("p2", "opB", "eu", time.Second), failed("p3", "opC", "us", time.Hour)), time.Hour),
		input(3, time.Second, owner(), unverified("p2", "opB", "eu"), unverified("p3", "opC", "us"), unverified("p4", "opD", "us")),
		input(3, time.Hour, failed("p2", "opB", "eu", time.Hour), failed("p3", "opC", "us", time.Hour)),
	}
	var t Tally
	for b.Loop() {
		t = Tally{}
		for i := range million {
			t.Add(v.State(ins[i&3], epoch))
		}
	}
	if t.Total() != million {
		b.Fatalf("total = %d", t.Total())
	}
}
