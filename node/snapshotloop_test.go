package node

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/internal/config"
)

// TestSnapshotPruning: beyond snapshot.keep, and older than
// snapshot.keep_for, snapshots go, oldest first; the newest always stays.
func TestSnapshotPruning(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var names []string
	for _, ago := range []time.Duration{90 * 24 * time.Hour, 40 * 24 * time.Hour, 10 * 24 * time.Hour, 24 * time.Hour, time.Hour} {
		names = append(names, SnapshotName(now.Add(-ago)))
	}
	for _, c := range []struct {
		keep    int
		keepFor time.Duration
		left    int // how many of the newest stay
	}{
		{keep: 7, left: 5},
		{keep: 2, left: 2},
		{keep: 7, keepFor: 30 * 24 * time.Hour, left: 3},
		{keep: 2, keepFor: 30 * 24 * time.Hour, left: 2},
		{keep: 7, keepFor: time.Minute, left: 1}, // the newest, though too old
	} {
		n := &Node{cfg: config.Config{Snapshot: config.Snapshot{Keep: c.keep, KeepFor: config.Duration{Duration: c.keepFor}}}}
		var got []string
		for _, i := range n.prunable(namedTimes(names), now) {
			got = append(got, names[i])
		}
		if want := names[:len(names)-c.left]; !slices.Equal(got, want) {
			t.Errorf("keep %d, keep_for %s: prunes %v, want %v", c.keep, c.keepFor, got, want)
		}
	}
}
