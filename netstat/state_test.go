package netstat

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestFactsState is the definition of the states, rule by rule.
func TestFactsState(t *testing.T) {
	tests := []struct {
		name string
		f    Facts
		want State
	}{
		{"deleted wins over everything", Facts{Target: 3, Copies: 3, OthersHold: true, Deletion: Deleted}, StateDeleted},
		{"deleting wins over backed up", Facts{Target: 3, Copies: 3, OthersHold: true, Deletion: Deleting}, StateDeleting},
		{"deleting with no copies", Facts{Target: 3, Deletion: Deleting}, StateDeleting},
		{"just added, only the owner", Facts{Target: 3, Copies: 1, OwnerHolds: true}, StateLocalOnly},
		{"only the owner past the grace", Facts{Target: 3, Copies: 1, OwnerHolds: true, PastGrace: true}, StateLocalOnly},
		{"only the owner, seen from a third node", Facts{Target: 3, OwnerHolds: true, Pending: true, PastGrace: true}, StateLocalOnly},
		{"target 1, only the owner", Facts{Target: 1, Copies: 1, OwnerHolds: true, EverFull: true}, StateLocalOnly},
		{"only the owner after being backed up", Facts{Target: 3, Copies: 1, OwnerHolds: true, EverFull: true}, StateAtRisk},
		{"backed up with the owner", Facts{Target: 3, Copies: 3, OwnerHolds: true, OthersHold: true, EverFull: true}, StateBackedUp},
		{"backed up without the owner", Facts{Target: 2, Copies: 2, OthersHold: true, PastGrace: true}, StateBackedUp},
		{"above target", Facts{Target: 2, Copies: 4, OthersHold: true}, StateBackedUp},
		{"target 1 on another node", Facts{Target: 1, Copies: 1, OthersHold: true}, StateBackedUp},
		{"new, others fetching", Facts{Target: 3, Copies: 1, OwnerHolds: true, OthersHold: true, Pending: true}, StateReplicating},
		{"new, one other verified", Facts{Target: 3, Copies: 2, OwnerHolds: true, OthersHold: true}, StateReplicating},
		{"new, past the grace", Facts{Target: 3, Copies: 2, OwnerHolds: true, OthersHold: true, PastGrace: true}, StateAtRisk},
		{"lost a copy after backed up", Facts{Target: 3, Copies: 2, OwnerHolds: true, OthersHold: true, EverFull: true}, StateAtRisk},
		{"nothing verified, new, holders pending", Facts{Target: 3, OthersHold: true, Pending: true}, StateReplicating},
		{"nothing verified, pending, past grace", Facts{Target: 3, OthersHold: true, Pending: true, PastGrace: true}, StateLost},
		{"nothing verified, pending, was backed up", Facts{Target: 3, OthersHold: true, Pending: true, EverFull: true}, StateLost},
		{"nothing verified, holders failing", Facts{Target: 3, OthersHold: true}, StateLost},
		{"no holder at all", Facts{Target: 3, PastGrace: true}, StateLost},
		{"unknown target, no copies", Facts{}, StateLost},
	}
	for _, tt := range tests {
		if got := tt.f.State(); got != tt.want {
			t.Errorf("%s: State(%+v) = %s, want %s", tt.name, tt.f, got, tt.want)
		}
	}
}

func TestStateWords(t *testing.T) {
	tests := []struct {
		s                            State
		word, label, sym, ascii, hue string
	}{
		{StateBackedUp, "backed_up", "Backed up", "✓", "+", "green"},
		{StateReplicating, "replicating", "Replicating", "↻", "~", "blue"},
		{StateLocalOnly, "local_only", "Local only", "○", "o", "grey"},
		{StateAtRisk, "at_risk", "At risk", "⚠", "!", "orange"},
		{StateLost, "lost", "Lost", "✗", "X", "red"},
		{StateDeleting, "deleting", "Deleting", "⊖", "-", "purple"},
		{StateDeleted, "deleted", "Deleted", "∅", ".", "grey"},
		{State(200), "unknown", "Unknown", "?", "?", "grey"},
	}
	for _, tt := range tests {
		got := []string{tt.s.String(), tt.s.Label(), tt.s.Symbol(false), tt.s.Symbol(true), tt.s.Colour()}
		want := []string{tt.word, tt.label, tt.sym, tt.ascii, tt.hue}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("state %d: got %q, want %q", tt.s, got[i], want[i])
			}
		}
	}
}

func TestStateText(t *testing.T) {
	for _, s := range States() {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var got State
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("round trip of %s via %s = %s, %v", s, b, got, err)
		}
	}
	if _, err := ParseState("backed-up"); !errors.Is(err, ErrUnknownState) {
		t.Errorf("ParseState(backed-up) error = %v, want ErrUnknownState", err)
	}
}

func TestSeverityOrder(t *testing.T) {
	want := []State{StateLost, StateAtRisk, StateLocalOnly, StateReplicating, StateDeleting, StateBackedUp, StateDeleted}
	for i, s := range want {
		if got := s.Severity(); got != i {
			t.Errorf("%s.Severity() = %d, want %d", s, got, i)
		}
	}
}

// TestFailedDrillIsAtLeastAtRisk: an object that the latest restore drill
// could not read back from the other members is at_risk, whatever its
// proofs say, unless it is worse off (lost) or deleted.
func TestFailedDrillIsAtLeastAtRisk(t *testing.T) {
	for _, tt := range []struct {
		f    Facts
		want State
	}{
		{Facts{Target: 3, Copies: 3, OwnerHolds: true, OthersHold: true, EverFull: true, DrillFailed: true}, StateAtRisk},
		{Facts{Target: 3, Copies: 1, OwnerHolds: true, OthersHold: true, Pending: true, DrillFailed: true}, StateAtRisk},
		{Facts{Target: 3, OwnerHolds: true, DrillFailed: true}, StateAtRisk},
		{Facts{Target: 3, Copies: 0, OthersHold: true, EverFull: true, DrillFailed: true}, StateLost},
		{Facts{Target: 3, Copies: 3, OthersHold: true, Deletion: Deleted, DrillFailed: true}, StateDeleted},
		{Facts{Target: 3, Copies: 3, OwnerHolds: true, OthersHold: true, EverFull: true}, StateBackedUp},
	} {
		if got := tt.f.State(); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.f, got, tt.want)
		}
	}
}
