package netstat

import (
	"encoding/json"
	"iter"
	"slices"
	"testing"
)

func tallyOf(states ...State) Tally { return TallyOf(slices.Values(states)) }

func TestTallyString(t *testing.T) {
	nine := slices.Repeat([]State{StateBackedUp}, 9)
	tests := []struct {
		t    Tally
		want string
	}{
		{Tally{}, "no objects"},
		{tallyOf(StateLost), "1 object: 1 lost"},
		{tallyOf(append(nine, StateAtRisk, StateReplicating, StateReplicating)...), "12 objects: 9 backed up, 2 replicating, 1 at risk"},
		{tallyOf(StateDeleted, StateLocalOnly, StateDeleting, StateLost), "4 objects: 1 local only, 1 lost, 1 deleting, 1 deleted"},
		{tallyOf(State(99)), "1 object: 1 unknown"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestTallyIncremental(t *testing.T) {
	var tl Tally
	tl.Add(StateLocalOnly)
	tl.Move(StateLocalOnly, StateReplicating)
	tl.Move(StateReplicating, StateBackedUp)
	tl.Add(StateBackedUp)
	tl.Remove(StateBackedUp)
	if got, want := tl, tallyOf(StateBackedUp); got != want {
		t.Errorf("incremental tally = %v, want %v", got, want)
	}
	if tl.Count(StateBackedUp) != 1 || tl.Count(StateLocalOnly) != 0 || tl.Total() != 1 {
		t.Errorf("counts = %d backed up, %d local only, total %d; want 1, 0, 1",
			tl.Count(StateBackedUp), tl.Count(StateLocalOnly), tl.Total())
	}
}

func TestTallyJSON(t *testing.T) {
	in := tallyOf(StateBackedUp, StateBackedUp, StateLost)
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["backed_up"] != 2.0 || m["at_risk"] != 0.0 || m["total"] != 3.0 || m["summary"] != "3 objects: 2 backed up, 1 lost" {
		t.Errorf("JSON = %s", b)
	}
	var back Tally
	if err := json.Unmarshal(b, &back); err != nil || back != in {
		t.Errorf("round trip = %v, %v; want %v", back, err, in)
	}
}

// Test helpers: the node tallies one object at a time, the tests in bulk.

// TallyOf counts the states in one pass.
func TallyOf(states iter.Seq[State]) Tally {
	var t Tally
	for s := range states {
		t.Add(s)
	}
	return t
}

// Move records that one object went from state from to state to.
func (t *Tally) Move(from, to State) {
	t.Remove(from)
	t.Add(to)
}
