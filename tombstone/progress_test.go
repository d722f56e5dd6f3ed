package tombstone

import (
	"reflect"
	"testing"
	"time"
)

func TestProgressSummary(t *testing.T) {
	now := epoch.Add(3 * time.Hour)
	tests := []struct {
		name        string
		deleted     bool
		applied     []string
		purged      []string
		lastSeen    map[string]time.Time
		wantSummary string
		wantState   string
	}{
		{"not deleted", false, nil, nil, nil, "not deleted", "live"},
		{"one laggard", true, []string{"h1", "h2", "h3", "h4"}, nil,
			map[string]time.Time{"h5": now.Add(-2 * time.Hour)},
			"deleted on 4 of 5 holders; 1 holder has not confirmed, last seen 2 h ago", "deleting"},
		{"laggard never seen", true, []string{"h1", "h2", "h3", "h4"}, nil, nil,
			"deleted on 4 of 5 holders; 1 holder has not confirmed, never seen", "deleting"},
		{"several laggards", true, []string{"h1", "h2"}, []string{"h3"},
			map[string]time.Time{"h4": now.Add(-90 * time.Second), "h5": now.Add(-3 * 24 * time.Hour)},
			"deleted on 3 of 5 holders; 2 holders have not confirmed (last seen 1 min ago, 3 d ago)", "deleting"},
		{"all purged", true, nil, holderIDs, nil, "deleted on 5 of 5 holders", "deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSet(t)
			mustApply(t, s, signed(t, objA, KindOwner, 1, tt.deleted, epoch), epoch)
			applyAcks(t, s, tt.applied, PhaseApplied)
			applyAcks(t, s, tt.purged, PhasePurged)
			p := s.Progress(objA, append(holderIDs, "h1"), tt.lastSeen, now)
			if got := p.Summary(); got != tt.wantSummary {
				t.Errorf("Summary() = %q, want %q", got, tt.wantSummary)
			}
			if got := p.State(); got != tt.wantState {
				t.Errorf("State() = %q, want %q", got, tt.wantState)
			}
		})
	}
}

func applyAcks(t *testing.T, s *Set, holders []string, phase Phase) {
	t.Helper()
	for _, h := range holders {
		if _, err := s.ApplyAck(signedAck(t, objA, KindOwner, 1, h, phase, epoch), epoch); err != nil {
			t.Fatalf("ApplyAck(%s): %v", h, err)
		}
	}
}

func TestStaleAckDoesNotCount(t *testing.T) {
	s := newTestSet(t)
	mustApply(t, s, signed(t, objA, KindOwner, 1, true, epoch), epoch)
	applyAcks(t, s, []string{"h1"}, PhaseApplied)
	mustApply(t, s, signed(t, objA, KindOwner, 2, false, epoch), epoch)
	mustApply(t, s, signed(t, objA, KindOwner, 3, true, epoch), epoch)
	if got := s.Progress(objA, []string{"h1"}, nil, epoch).DeletedOn; got != 0 {
		t.Errorf("DeletedOn = %d, want 0: h1 acknowledged v1, not the current v3", got)
	}
}

func TestLaggards(t *testing.T) {
	s := newTestSet(t) // AckTimeout 1 min
	mustApply(t, s, signed(t, objA, KindOwner, 1, true, epoch), epoch)
	mustApply(t, s, signed(t, objB, KindOwner, 1, false, epoch), epoch)
	applyAcks(t, s, []string{"h1"}, PhaseApplied)
	holders := func(string) []string { return []string{"h2", "h1", "h3"} }
	if got := s.Laggards(epoch.Add(59*time.Second), holders); len(got) != 0 {
		t.Errorf("Laggards before timeout = %v, want none", got)
	}
	want := []Laggard{{objA, "h2", epoch}, {objA, "h3", epoch}}
	if got := s.Laggards(epoch.Add(time.Minute), holders); !reflect.DeepEqual(got, want) {
		t.Errorf("Laggards = %v, want %v", got, want)
	}
}

func TestAgo(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0 s ago"},
		{59 * time.Second, "59 s ago"},
		{5 * time.Minute, "5 min ago"},
		{2*time.Hour + 59*time.Minute, "2 h ago"},
		{47 * time.Hour, "47 h ago"},
		{72 * time.Hour, "3 d ago"},
	}
	for _, tt := range tests {
		if got := Ago(tt.d); got != tt.want {
			t.Errorf("Ago(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
