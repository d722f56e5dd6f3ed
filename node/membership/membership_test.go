package membership

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
)

// t0 is the time the test federations are founded at.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newPeer returns a fresh ed25519 peer ID.
func newPeer(t *testing.T) peer.ID {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// testFed is a federation founded by founder at t0.
type testFed struct {
	auth    *federation.Authority
	founder peer.ID
	roster  federation.Roster
}

func newTestFed(t *testing.T) *testFed {
	t.Helper()
	a, err := federation.NewAuthority(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &testFed{auth: a, founder: newPeer(t)}
	self, err := MemberFor(f.founder, "op", "eu", t0)
	if err != nil {
		t.Fatal(err)
	}
	if f.roster, err = federation.Create("fed", a, self, t0); err != nil {
		t.Fatal(err)
	}
	return f
}

// admit adds p, whose membership ends after lasts (0: never).
func (f *testFed) admit(t *testing.T, p peer.ID, lasts time.Duration) {
	t.Helper()
	m, err := MemberFor(p, "op", "eu", t0)
	if err != nil {
		t.Fatal(err)
	}
	if lasts > 0 {
		m.Expires = t0.Add(lasts)
	}
	if f.roster, err = federation.Admit(f.roster, m, f.auth, t0); err != nil {
		t.Fatal(err)
	}
}

// testClock is a clock the test sets.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

func newMembership(t *testing.T, store AuthorityStore, clock *testClock) *Membership {
	t.Helper()
	if store == nil {
		store = &memStore{}
	}
	m, err := New(Config{RosterFile: filepath.Join(t.TempDir(), "federation.roster"), Authorities: store, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// installs counts the rosters handed to the install hook.
type installs struct {
	got []federation.Roster
	err error
}

func (in *installs) hook(_ context.Context, r federation.Roster) error {
	in.got = append(in.got, r)
	return in.err
}

func set(r federation.Roster) func(*federation.Roster) (federation.Roster, error) {
	return func(*federation.Roster) (federation.Roster, error) { return r, nil }
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Authorities: &memStore{}}, "config.RosterFile"},
		{Config{RosterFile: "r"}, "config.Authorities"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

func TestGaterAdmitsMembersOnly(t *testing.T) {
	f := newTestFed(t)
	member, shortLived, stranger := newPeer(t), newPeer(t), newPeer(t)
	f.admit(t, member, 0)
	f.admit(t, shortLived, time.Hour)
	for _, tc := range []struct {
		name   string
		roster *federation.Roster
		p      peer.ID
		at     time.Time
		want   bool
	}{
		{"no federation yet: a stranger", nil, stranger, t0, true},
		{"a member", &f.roster, member, t0, true},
		{"the founder", &f.roster, f.founder, t0, true},
		{"a stranger", &f.roster, stranger, t0, false},
		{"a member for a time, before it ends", &f.roster, shortLived, t0.Add(time.Hour - time.Second), true},
		{"a member for a time, once it ended", &f.roster, shortLived, t0.Add(time.Hour), false},
		{"a member for good, much later", &f.roster, member, t0.Add(1000 * time.Hour), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &testClock{now: tc.at}
			m := newMembership(t, nil, clock)
			m.RestrictGater(tc.roster)
			g := m.Gater()
			got := []bool{g.Admits(tc.p), g.InterceptPeerDial(tc.p), g.InterceptAddrDial(tc.p, nil), g.InterceptSecured(0, tc.p, nil), m.Admits(tc.p)}
			for i, v := range got {
				if v != tc.want {
					t.Errorf("check %d of %v: %v, want %v", i, got, v, tc.want)
				}
			}
		})
	}
}

func TestGaterRefusesAMemberOnceItExpires(t *testing.T) {
	f := newTestFed(t)
	p := newPeer(t)
	f.admit(t, p, time.Hour)
	clock := &testClock{now: t0}
	m := newMembership(t, nil, clock)
	if err := m.Change(context.Background(), set(f.roster), (&installs{}).hook); err != nil {
		t.Fatal(err)
	}
	if !m.Admits(p) {
		t.Fatal("a current member is refused")
	}
	clock.now = t0.Add(2 * time.Hour) // no new roster: the clock alone
	if m.Admits(p) {
		t.Error("an expired member is still admitted")
	}
}

func TestChange(t *testing.T) {
	f := newTestFed(t)
	v1 := f.roster
	f.admit(t, newPeer(t), 0)
	v2 := f.roster
	boom := errors.New("boom")
	for _, tc := range []struct {
		name       string
		decide     func(*federation.Roster) (federation.Roster, error)
		installErr error
		wantErr    error
		want       federation.Roster // the current roster after
		installed  bool
	}{
		{"a newer roster", set(v2), nil, nil, v2, true},
		{"the same roster again", set(v1), nil, nil, v1, false},
		{"decide fails", func(*federation.Roster) (federation.Roster, error) { return v2, boom }, nil, boom, v1, false},
		{"install fails", set(v2), boom, boom, v2, true},
		{"decide sees the current roster", func(cur *federation.Roster) (federation.Roster, error) {
			if cur == nil || cur.Version != v1.Version {
				return federation.Roster{}, errors.New("decide did not see v1")
			}
			return v2, nil
		}, nil, nil, v2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := newMembership(t, nil, &testClock{now: t0})
			if err := m.Change(ctx, set(v1), (&installs{}).hook); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(m.rosterFile); err != nil {
				t.Fatal(err)
			}
			in := &installs{err: tc.installErr}
			if err := m.Change(ctx, tc.decide, in.hook); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Change: %v, want %v", err, tc.wantErr)
			}
			if got := m.Roster(); got == nil || !bytes.Equal(got.Encode(), tc.want.Encode()) {
				t.Errorf("current roster: version %v, want %d", got, tc.want.Version)
			}
			if len(in.got) > 0 != tc.installed {
				t.Errorf("installed %d rosters, want installed %v", len(in.got), tc.installed)
			}
			stored, err := m.LoadRoster()
			if err != nil {
				t.Fatal(err)
			}
			if tc.installed != (stored != nil) {
				t.Errorf("roster file written: %v, want %v", stored != nil, tc.installed)
			}
		})
	}
}

// TestFailedInstallIsRetried: a roster whose install hook failed stays
// current, and the next change that decides it again installs it, instead
// of taking it for installed already.
func TestFailedInstallIsRetried(t *testing.T) {
	ctx := context.Background()
	f := newTestFed(t)
	m := newMembership(t, nil, &testClock{now: t0})
	boom := errors.New("boom")
	if err := m.Change(ctx, set(f.roster), (&installs{err: boom}).hook); !errors.Is(err, boom) {
		t.Fatalf("Change with a failing install: %v, want %v", err, boom)
	}
	if got := m.Roster(); got == nil || !bytes.Equal(got.Encode(), f.roster.Encode()) {
		t.Fatal("the roster whose install failed is not current")
	}
	again := &installs{}
	if err := m.Change(ctx, set(f.roster), again.hook); err != nil {
		t.Fatal(err)
	}
	if len(again.got) != 1 {
		t.Fatalf("deciding the same roster again ran install %d times, want 1", len(again.got))
	}
	third := &installs{}
	if err := m.Change(ctx, set(f.roster), third.hook); err != nil {
		t.Fatal(err)
	}
	if len(third.got) != 0 {
		t.Errorf("a roster installed already was installed again (%d times)", len(third.got))
	}
}

func TestRosterFile(t *testing.T) {
	ctx := context.Background()
	f := newTestFed(t)
	m := newMembership(t, nil, &testClock{now: t0})
	if r, err := m.LoadRoster(); r != nil || err != nil {
		t.Fatalf("no roster file: %v, %v; want nil, nil", r, err)
	}
	if err := m.Change(ctx, set(f.roster), (&installs{}).hook); err != nil {
		t.Fatal(err)
	}
	again, err := New(Config{RosterFile: m.rosterFile, Authorities: &memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := again.LoadRoster()
	if err != nil || r == nil || !bytes.Equal(r.Encode(), f.roster.Encode()) {
		t.Fatalf("round trip: %v, %v; want the installed roster", r, err)
	}
	if err := os.WriteFile(m.rosterFile, f.roster.Encode()[:40], 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = again.LoadRoster()
	if err == nil || !errors.Is(err, federation.ErrMalformed) || !strings.Contains(err.Error(), "stored roster "+m.rosterFile) {
		t.Errorf("truncated roster file: %v; want ErrMalformed naming the file", err)
	}
}

func TestSeen(t *testing.T) {
	m := newMembership(t, nil, &testClock{now: t0})
	p := newPeer(t)
	if _, ok := m.LastSeen(p); ok {
		t.Fatal("a peer never connected was seen")
	}
	m.MarkSeen(p, t0)
	m.MarkSeen(p, t0.Add(time.Minute))
	if at, ok := m.LastSeen(p); !ok || !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("last seen %v, %v; want %v", at, ok, t0.Add(time.Minute))
	}
}
