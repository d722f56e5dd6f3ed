package federation

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestAdminRejects(t *testing.T) {
	a, b := newTestAuthority(t, 1), newTestAuthority(t, 2)
	r := testFederation(t, a)
	revoked, err := Revoke(r, testMember(1, "", "").PeerID, "lost laptop", a, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sameKey := testMember(1, "acme", "eu-west")
	sameKey.PeerID = "12D3KooWother"
	later := t0.Add(2 * time.Hour)
	tests := []struct {
		name string
		op   func() (Roster, error)
		want error
	}{
		{"admit twice", func() (Roster, error) { return Admit(r, testMember(2, "globex", "us-east"), a, later) }, ErrAlreadyMember},
		{"admit a second peer with a used key", func() (Roster, error) { return Admit(r, sameKey, a, later) }, ErrAlreadyMember},
		{"admit revoked peer", func() (Roster, error) { return Admit(revoked, testMember(1, "acme", "eu-west"), a, later) }, ErrRevokedPeer},
		{"admit with empty region", func() (Roster, error) { return Admit(r, testMember(7, "acme", ""), a, later) }, ErrInvalid},
		{"admit with bad peer ID", func() (Roster, error) {
			m := testMember(7, "acme", "eu")
			m.PeerID = "a b"
			return Admit(r, m, a, later)
		}, ErrInvalid},
		{"admit with short key", func() (Roster, error) {
			m := testMember(7, "acme", "eu")
			m.PublicKey = m.PublicKey[:8]
			return Admit(r, m, a, later)
		}, ErrInvalid},
		{"admit without key", func() (Roster, error) { return Admit(r, testMember(7, "acme", "eu"), nil, later) }, ErrNoAuthority},
		{"admit with other federation's key", func() (Roster, error) { return Admit(r, testMember(7, "acme", "eu"), b, later) }, ErrNotAuthority},
		{"revoke unknown", func() (Roster, error) { return Revoke(r, "12D3KooWnobody", "", a, later) }, ErrNotMember},
		{"revoke twice", func() (Roster, error) { return Revoke(revoked, testMember(1, "", "").PeerID, "", a, later) }, ErrNotMember},
		{"revoke unknown operator", func() (Roster, error) { return RevokeOperator(r, "umbrella", "", a, later) }, ErrNotMember},
		{"revoke with control characters", func() (Roster, error) { return Revoke(r, testMember(2, "", "").PeerID, "\x07", a, later) }, ErrInvalid},
		{"renew unknown", func() (Roster, error) { return Renew(r, "12D3KooWnobody", time.Time{}, a, later) }, ErrNotMember},
		{"create with bad name", func() (Roster, error) { return Create("", a, testMember(0, "acme", "eu"), later) }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.op(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAdminOperations(t *testing.T) {
	a := newTestAuthority(t, 1)
	r := testFederation(t, a)
	p1, p2 := testMember(1, "", "").PeerID, testMember(2, "", "").PeerID
	later := t0.Add(time.Hour)
	tests := []struct {
		name        string
		op          func(Roster) (Roster, error)
		wantMembers int
		wantRevoked []string
	}{
		{"admit", func(r Roster) (Roster, error) { return Admit(r, testMember(5, "umbrella", "ap-south"), a, later) }, 5, nil},
		{"revoke", func(r Roster) (Roster, error) { return Revoke(r, p2, "decommissioned", a, later) }, 3, []string{p2}},
		{"revoke operator", func(r Roster) (Roster, error) { return RevokeOperator(r, "acme", "contract ended", a, later) }, 2, []string{testMember(0, "", "").PeerID, p1}},
		{"revoke then readmit", func(r Roster) (Roster, error) {
			r, err := Revoke(r, p1, "", a, later)
			if err != nil {
				return r, err
			}
			return Readmit(r, testMember(1, "acme", "eu-west"), a, later)
		}, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.clone()
			got, err := tt.op(r)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r, before) {
				t.Errorf("input roster was modified")
			}
			if got.Version <= r.Version {
				t.Errorf("version %d, want above %d", got.Version, r.Version)
			}
			if err := got.Verify(a.FederationID(), later); err != nil {
				t.Errorf("result does not verify: %v", err)
			}
			if len(got.Members) != tt.wantMembers {
				t.Errorf("got %d members, want %d", len(got.Members), tt.wantMembers)
			}
			var revoked []string
			for _, v := range got.Revoked {
				revoked = append(revoked, v.PeerID)
			}
			if !reflect.DeepEqual(revoked, tt.wantRevoked) {
				t.Errorf("revoked %v, want %v", revoked, tt.wantRevoked)
			}
		})
	}
}
