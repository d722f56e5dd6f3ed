package deletions

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/tombstone"
)

// TestHealthAndProgress: a deletion one holder has not acknowledged is
// pending, with the lag since it was issued; past the acknowledgement
// timeout that holder is a laggard; progress reports when it was last seen.
func TestHealthAndProgress(t *testing.T) {
	ctx := context.Background()
	const silent = "12D3KooWsilent"
	s := newTestState(t, memStore())
	apply(t, s, ownerTomb(t, objA, 1, true, epoch), epoch)
	if err := s.Applied(ctx, objA, []string{holder, silent}); err != nil {
		t.Fatal(err)
	}
	ack := tombstone.Ack{Object: objA, Kind: tombstone.KindOwner, Version: 1, Holder: holder, Phase: tombstone.PhaseApplied, At: epoch}
	if err := ack.Sign(holderKey); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyAck(ctx, ack, epoch); err != nil {
		t.Fatal(err)
	}
	seenAt := epoch.Add(30 * time.Second)
	lastSeen := func(h string) (time.Time, bool) { return seenAt, h == silent }
	tests := []struct {
		name         string
		now          time.Time
		wantPending  int
		wantLag      time.Duration
		wantLaggards int
	}{
		{"within the ack timeout", epoch.Add(30 * time.Second), 1, 30 * time.Second, 0},
		{"past the ack timeout", epoch.Add(2 * time.Minute), 1, 2 * time.Minute, 1},
	}
	for _, tt := range tests {
		h := s.Health(tt.now)
		if h.Pending != tt.wantPending || h.Lag != tt.wantLag || len(h.Laggards) != tt.wantLaggards {
			t.Errorf("%s: health %d pending, lag %v, %d laggards; want %d, %v, %d", tt.name,
				h.Pending, h.Lag, len(h.Laggards), tt.wantPending, tt.wantLag, tt.wantLaggards)
		}
		p := s.Progress(objA, tt.now, lastSeen)
		if p.Holders != 2 || p.DeletedOn != 1 || len(p.Unconfirmed) != 1 || !p.Unconfirmed[0].LastSeen.Equal(seenAt) {
			t.Errorf("%s: progress %+v; want 2 holders, 1 deleted on, %s unconfirmed last seen %v", tt.name, p, silent, seenAt)
		}
	}
	if p := s.Progress(objB, epoch, lastSeen); p.Deleted || p.Holders != 0 {
		t.Errorf("progress of a live object: %+v, want nothing deleted", p)
	}
}
