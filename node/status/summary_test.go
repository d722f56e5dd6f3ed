package status

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

func sum(id string, state netstat.State) Summary {
	return Summary{Row: netstat.Row{ID: id, State: state}}
}

func ids(sums []Summary) []string {
	var out []string
	for _, s := range sums {
		out = append(out, s.Row.ID)
	}
	return out
}

// TestMerge: two lists in CID order merge into one in CID order, a's
// summary first on equal CIDs, neither input changed.
func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []string
		want []string
	}{
		{"both empty", nil, nil, nil},
		{"a only", []string{"a", "c"}, nil, []string{"a", "c"}},
		{"b only", nil, []string{"b"}, []string{"b"}},
		{"interleaved", []string{"a", "c", "e"}, []string{"b", "d", "f"}, []string{"a", "b", "c", "d", "e", "f"}},
		{"b before all", []string{"m", "n"}, []string{"a", "b"}, []string{"a", "b", "m", "n"}},
		{"b after all", []string{"a"}, []string{"x", "y"}, []string{"a", "x", "y"}},
		{"equal ids", []string{"a", "b"}, []string{"b", "c"}, []string{"a", "b", "b", "c"}},
	} {
		mk := func(names []string, indexed bool) []Summary {
			var out []Summary
			for _, n := range names {
				s := sum(n, netstat.StateBackedUp)
				s.Indexed = indexed
				out = append(out, s)
			}
			return out
		}
		a, b := mk(tc.a, false), mk(tc.b, true)
		aBefore, bBefore := slices.Clone(a), slices.Clone(b)
		got := Merge(a, b)
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: merged %v, want %v", tc.name, ids(got), tc.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].Row.ID == got[i].Row.ID && (got[i-1].Indexed || !got[i].Indexed) {
				t.Errorf("%s: on equal CID %s, b's summary came first", tc.name, got[i].Row.ID)
			}
		}
		if !slices.Equal(a, aBefore) || !slices.Equal(b, bBefore) {
			t.Errorf("%s: Merge changed its inputs", tc.name)
		}
	}
}

// TestOverviewOf: the tally counts every state; not_safe_offline counts
// live objects owned here without a verified copy elsewhere.
func TestOverviewOf(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	owned := func(s Summary, safe bool) Summary { s.OwnedHere, s.Safe = true, safe; return s }
	for _, tc := range []struct {
		name        string
		sums        []Summary
		wantNotSafe int
		wantCounts  map[netstat.State]int
	}{
		{"none", nil, 0, map[netstat.State]int{}},
		{"owned and safe", []Summary{owned(sum("a", netstat.StateBackedUp), true)}, 0,
			map[netstat.State]int{netstat.StateBackedUp: 1}},
		{"owned, not safe", []Summary{owned(sum("a", netstat.StateLocalOnly), false), owned(sum("b", netstat.StateReplicating), false)}, 2,
			map[netstat.State]int{netstat.StateLocalOnly: 1, netstat.StateReplicating: 1}},
		{"deleting and deleted are not counted unsafe", []Summary{owned(sum("a", netstat.StateDeleting), false), owned(sum("b", netstat.StateDeleted), false)}, 0,
			map[netstat.State]int{netstat.StateDeleting: 1, netstat.StateDeleted: 1}},
		{"held for others, not safe", []Summary{sum("a", netstat.StateAtRisk), sum("b", netstat.StateLost)}, 0,
			map[netstat.State]int{netstat.StateAtRisk: 1, netstat.StateLost: 1}},
	} {
		ov := OverviewOf(tc.sums, at)
		if ov.NotSafeOffline != tc.wantNotSafe || ov.SafeOffline != (tc.wantNotSafe == 0) || !ov.AsOf.Equal(at) {
			t.Errorf("%s: not safe %d (safe %v) as of %s; want %d as of %s", tc.name, ov.NotSafeOffline, ov.SafeOffline, ov.AsOf, tc.wantNotSafe, at)
		}
		if ov.Tally.Total() != len(tc.sums) || ov.Summary != ov.Tally.String() {
			t.Errorf("%s: tally of %d (%q), want %d", tc.name, ov.Tally.Total(), ov.Summary, len(tc.sums))
		}
		for s, n := range tc.wantCounts {
			if got := ov.Tally.Count(s); got != n {
				t.Errorf("%s: %d %s, want %d", tc.name, got, s, n)
			}
		}
		snap := NewSnapshot(tc.sums, at, time.Second)
		if so := snap.Overview(); so.Tally != ov.Tally || so.NotSafeOffline != ov.NotSafeOffline || !so.AsOf.Equal(at) {
			t.Errorf("%s: the snapshot's overview %+v differs from %+v", tc.name, so, ov)
		}
		var rows []string
		for r := range snap.Rows() {
			rows = append(rows, r.ID)
		}
		if !slices.Equal(rows, ids(tc.sums)) {
			t.Errorf("%s: snapshot rows %v, want %v", tc.name, rows, ids(tc.sums))
		}
	}
}

// TestSummaryOf: the state is the one past the grace, and Young the one
// within it; the oldest verification is kept in unix ms.
func TestSummaryOf(t *testing.T) {
	verified := time.UnixMilli(1_700_000_000_123)
	for _, tc := range []struct {
		name            string
		o               replication.Overview
		want, wantYoung netstat.State
		wantVerified    int64
	}{
		{"at target", replication.Overview{Object: "a", Target: 2, Copies: 2, OthersClaim: true, OldestVerified: verified},
			netstat.StateBackedUp, netstat.StateBackedUp, verified.UnixMilli()},
		{"owner alone, new", replication.Overview{Object: "b", Target: 2, Copies: 0, OwnerClaims: true},
			netstat.StateLocalOnly, netstat.StateLocalOnly, 0},
	} {
		s := SummaryOf(tc.o)
		want := facts(tc.o)
		if s.Row.ID != string(tc.o.Object) || s.Row.State != want.State() || s.VerifiedAt != tc.wantVerified {
			t.Errorf("%s: %+v, want state %s, verified %d", tc.name, s, want.State(), tc.wantVerified)
		}
		if s.Row.State != tc.want || s.Young != tc.wantYoung {
			t.Errorf("%s: state %s young %s, want %s and %s", tc.name, s.Row.State, s.Young, tc.want, tc.wantYoung)
		}
	}
}
