package membership

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/federation"
)

func TestReceive(t *testing.T) {
	f := newTestFed(t)
	v1 := f.roster
	f.admit(t, newPeer(t), 0)
	v2 := f.roster
	forged := v2
	forged.Members = append([]federation.Member(nil), v2.Members...)
	forged.Members[0].PublicKey = forged.Members[1].PublicKey
	for _, tc := range []struct {
		name         string
		cur          *federation.Roster
		data         []byte
		wantErr      error
		wantVersion  uint64
		wantRejected int64
	}{
		{"newer", &v1, v2.Encode(), nil, v2.Version, 0},
		{"no federation", nil, v2.Encode(), ErrNoFederation, 0, 0},
		{"stale", &v2, v1.Encode(), federation.ErrStale, v2.Version, 1},
		{"the one held", &v2, v2.Encode(), ErrHeld, v2.Version, 1},
		{"malformed", &v1, v2.Encode()[:40], federation.ErrMalformed, v1.Version, 1},
		{"a member with another peer's key", &v1, forged.Encode(), federation.ErrInvalid, v1.Version, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMembership(t, nil, &testClock{now: t0.Add(time.Minute)})
			if tc.cur != nil {
				if err := m.Change(context.Background(), set(*tc.cur), (&installs{}).hook); err != nil {
					t.Fatal(err)
				}
			}
			err := m.Receive(context.Background(), tc.data, f.founder, (&installs{}).hook)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("Receive: %v, want %v", err, tc.wantErr)
			}
			if got := m.Roster(); (got == nil && tc.wantVersion != 0) || (got != nil && got.Version != tc.wantVersion) {
				t.Errorf("current roster %v, want version %d", got, tc.wantVersion)
			}
			if got := m.RostersRejected(); got != tc.wantRejected {
				t.Errorf("rejected %d rosters, want %d", got, tc.wantRejected)
			}
		})
	}
}

// TestReceiveHeldButNotInstalled: a roster whose install hook failed is
// not held yet, so receiving the same bytes runs the hook again.
func TestReceiveHeldButNotInstalled(t *testing.T) {
	f := newTestFed(t)
	m := newMembership(t, nil, &testClock{now: t0.Add(time.Minute)})
	failing := &installs{err: errors.New("join the roster topic: closed")}
	if err := m.Change(context.Background(), set(f.roster), failing.hook); err == nil {
		t.Fatal("Change with a failing install hook succeeded")
	}
	retry := &installs{}
	if err := m.Receive(context.Background(), f.roster.Encode(), f.founder, retry.hook); errors.Is(err, ErrHeld) {
		t.Fatalf("Receive of the stored but uninstalled roster: %v; want it installed", err)
	}
	if len(retry.got) != 1 {
		t.Errorf("install hook ran %d times, want 1", len(retry.got))
	}
	if err := m.Receive(context.Background(), f.roster.Encode(), f.founder, retry.hook); !errors.Is(err, ErrHeld) {
		t.Errorf("Receive once installed: %v, want ErrHeld", err)
	}
}
