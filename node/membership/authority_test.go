package membership

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/cairn-fed/cairn/federation"
	"github.com/cairn-fed/cairn/node/repo"
)

// memStore keeps the authority key in memory.
type memStore struct {
	text   string
	sealed bool
	has    bool
	err    error // returned by every call when set
}

var _ AuthorityStore = (*memStore)(nil)

func (s *memStore) Authority(passphrase []byte) (string, bool, error) {
	switch {
	case s.err != nil:
		return "", false, s.err
	case !s.has:
		return "", false, repo.ErrNoAuthority
	}
	return s.text, s.sealed, nil
}

func (s *memStore) WriteAuthority(text string, passphrase []byte) error {
	if s.err != nil {
		return s.err
	}
	s.text, s.sealed, s.has = text, len(passphrase) > 0, true
	return nil
}

func (s *memStore) RemoveAuthority() error {
	if s.err != nil {
		return s.err
	}
	if !s.has {
		return fmt.Errorf("remove authority key: %w", repo.ErrNoAuthority)
	}
	s.text, s.sealed, s.has = "", false, false
	return nil
}

func newAuthorityMembership(t *testing.T, store *memStore, pass string, roster *federation.Roster) *Membership {
	t.Helper()
	m := newMembership(t, store, &testClock{now: t0})
	m.passphrase = []byte(pass)
	if roster != nil {
		if err := m.Change(context.Background(), set(*roster), (&installs{}).hook); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestLoadAuthority(t *testing.T) {
	f := newTestFed(t)
	key := federation.MarshalAuthority(f.auth)
	broken := errors.New("disk on fire")
	for _, tc := range []struct {
		name       string
		store      memStore
		pass       string
		wantErr    error
		wantKey    bool
		wantSealed bool
	}{
		{"none", memStore{}, "pw", nil, false, false},
		{"sealed", memStore{text: key, sealed: true, has: true}, "pw", nil, true, true},
		{"unsealed, with a passphrase: sealed now", memStore{text: key, has: true}, "pw", nil, true, true},
		{"unsealed, no passphrase: left as it is", memStore{text: key, has: true}, "", nil, true, false},
		{"unreadable", memStore{err: broken}, "pw", broken, false, false},
		{"not a key", memStore{text: "garbage", has: true}, "pw", federation.ErrCorrupted, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store
			m := newAuthorityMembership(t, &store, tc.pass, nil)
			err := m.LoadAuthority()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("LoadAuthority: %v, want %v", err, tc.wantErr)
			}
			if got := m.Authority(); (got != nil) != tc.wantKey || (got != nil && got.FederationID() != f.auth.FederationID()) {
				t.Errorf("authority loaded: %v, want %v", got, tc.wantKey)
			}
			if store.sealed != tc.wantSealed {
				t.Errorf("stored sealed: %v, want %v", store.sealed, tc.wantSealed)
			}
		})
	}
}

func TestStoreAndRemoveAuthority(t *testing.T) {
	f := newTestFed(t)
	store := &memStore{}
	m := newAuthorityMembership(t, store, "pw", &f.roster)
	if _, err := m.AdminKey(m.Roster()); !errors.Is(err, federation.ErrNoAuthority) {
		t.Errorf("admin without the key: %v, want ErrNoAuthority", err)
	}
	if err := m.RemoveAuthority(); !errors.Is(err, federation.ErrNoAuthority) {
		t.Errorf("remove without the key: %v, want ErrNoAuthority", err)
	}
	if err := m.StoreAuthority(f.auth); err != nil {
		t.Fatal(err)
	}
	if !store.has || !store.sealed || store.text != federation.MarshalAuthority(f.auth) {
		t.Errorf("stored %+v; want the key, sealed", store)
	}
	if a, err := m.AdminKey(m.Roster()); err != nil || a != f.auth {
		t.Errorf("admin with the key: %v, %v", a, err)
	}
	if err := m.RemoveAuthority(); err != nil {
		t.Fatal(err)
	}
	if store.has || m.Authority() != nil {
		t.Errorf("after remove: stored %v, in memory %v; want neither", store.has, m.Authority())
	}
	if _, err := m.AdminKey(nil); !errors.Is(err, ErrNoFederation) {
		t.Errorf("admin with no federation: %v, want ErrNoFederation", err)
	}
}

func TestStoreAuthorityFailureKeepsNothing(t *testing.T) {
	f := newTestFed(t)
	broken := errors.New("disk full")
	m := newAuthorityMembership(t, &memStore{err: broken}, "pw", &f.roster)
	if err := m.StoreAuthority(f.auth); !errors.Is(err, broken) {
		t.Fatalf("StoreAuthority: %v, want %v", err, broken)
	}
	if m.Authority() != nil {
		t.Error("a key that failed to store is held in memory")
	}
}

func TestImportAuthority(t *testing.T) {
	f := newTestFed(t)
	other, err := federation.NewAuthority(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		roster  *federation.Roster
		text    string
		wantErr error
	}{
		{"the federation's key", &f.roster, federation.MarshalAuthority(f.auth), nil},
		{"no federation", nil, federation.MarshalAuthority(f.auth), ErrNoFederation},
		{"another federation's key", &f.roster, federation.MarshalAuthority(other), federation.ErrNotAuthority},
		{"not a key", &f.roster, "garbage", federation.ErrCorrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &memStore{}
			m := newAuthorityMembership(t, store, "", tc.roster)
			if err := m.ImportAuthority(tc.text); !errors.Is(err, tc.wantErr) {
				t.Fatalf("ImportAuthority: %v, want %v", err, tc.wantErr)
			}
			imported := tc.wantErr == nil
			if store.has != imported || (m.Authority() != nil) != imported {
				t.Errorf("stored %v, in memory %v; want %v", store.has, m.Authority() != nil, imported)
			}
		})
	}
}
