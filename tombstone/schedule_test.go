package tombstone

import (
	"crypto/sha256"
	"slices"
	"testing"
	"time"
)

func TestPurgeSchedule(t *testing.T) {
	window := testConfig().TrashWindow
	tests := []struct {
		name  string
		msgs  []Tombstone
		purge []string // marked purged before asking
		at    time.Duration
		want  []string
	}{
		{"inside window", []Tombstone{signed(t, objA, KindOwner, 1, true, epoch)}, nil, window - time.Nanosecond, nil},
		{"window over", []Tombstone{signed(t, objA, KindOwner, 1, true, epoch)}, nil, window, []string{objA}},
		{"restored in time", []Tombstone{
			signed(t, objA, KindOwner, 1, true, epoch),
			signed(t, objA, KindOwner, 2, false, epoch.Add(time.Second)),
		}, nil, 2 * window, nil},
		{"deleted again restarts window", []Tombstone{
			signed(t, objA, KindOwner, 1, true, epoch),
			signed(t, objA, KindOwner, 2, false, epoch.Add(time.Second)),
			signed(t, objA, KindOwner, 3, true, epoch.Add(5*time.Second)),
		}, nil, window + time.Second, nil},
		{"already purged", []Tombstone{signed(t, objA, KindOwner, 1, true, epoch)}, []string{objA}, window, nil},
		{"earliest deleting lane counts", []Tombstone{
			signed(t, objA, KindOwner, 1, true, epoch),
			signed(t, objA, KindTakedown, 1, true, epoch.Add(5*time.Second)),
		}, nil, window, []string{objA}},
		{"sorted", []Tombstone{
			signed(t, objB, KindOwner, 1, true, epoch),
			signed(t, objA, KindTakedown, 1, true, epoch),
		}, nil, window, []string{objA, objB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSet(t)
			for _, ts := range tt.msgs {
				mustApply(t, s, ts, epoch.Add(time.Minute))
			}
			for _, obj := range tt.purge {
				s.MarkPurged(obj)
			}
			if got := s.DuePurges(epoch.Add(tt.at)); !slices.Equal(got, tt.want) {
				t.Errorf("DuePurges(+%v) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestCompact(t *testing.T) {
	s := newTestSet(t)
	takedown := signed(t, objA, KindTakedown, 1, true, epoch)
	mustApply(t, s, takedown, epoch)
	mustApply(t, s, signed(t, objB, KindOwner, 1, true, epoch.Add(50*time.Minute)), epoch.Add(50*time.Minute))
	if _, err := s.ApplyAck(signedAck(t, objA, KindTakedown, 1, "h1", PhaseApplied, epoch), epoch); err != nil {
		t.Fatal(err)
	}
	before := s.Digest()
	if got := s.Compact(epoch.Add(time.Hour)); got != 1 {
		t.Errorf("Compact() = %d, want 1 (objB is younger than Retention)", got)
	}
	if got := s.Compact(epoch.Add(time.Hour)); got != 0 {
		t.Errorf("second Compact() = %d, want 0", got)
	}
	e, _ := s.Get(objA)
	sum := sha256.Sum256([]byte(takedown.Reason))
	if !e.Compacted || !e.Deleted() || e.Takedown.Reason != "" || string(e.Takedown.ReasonDigest) != string(sum[:]) {
		t.Errorf("after Compact: %+v, want deleted, compacted, reason replaced by its digest", e)
	}
	if got := s.Acks(objA); len(got) != 0 {
		t.Errorf("Acks after Compact = %v, want none", got)
	}
	if s.Digest() != before {
		t.Errorf("Compact changed the digest; fingerprints must not depend on compaction")
	}
	// The compact tombstone still verifies and still blocks a replayed restore.
	fresh := newTestSet(t)
	if _, err := fresh.Apply(e.Takedown, epoch.Add(2*time.Hour)); err != nil {
		t.Errorf("Apply(compacted takedown) = %v, want it to verify", err)
	}
	if changed, _ := s.Apply(takedown, epoch.Add(2*time.Hour)); changed {
		t.Errorf("re-applying the full form of a compacted tombstone changed the set")
	}
	if !s.IsDeleted(objA) {
		t.Errorf("objA came back after compaction")
	}
}

func TestMustResync(t *testing.T) {
	s := newTestSet(t) // Retention 1 h
	tests := []struct {
		away time.Duration
		want bool
	}{
		{0, false},
		{time.Hour, false},
		{time.Hour + time.Second, true},
		{30 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		if got := s.MustResync(epoch, epoch.Add(tt.away)); got != tt.want {
			t.Errorf("MustResync(away %v) = %v, want %v", tt.away, got, tt.want)
		}
	}
}
