package federation

import (
	"reflect"
	"testing"
	"time"

	"github.com/cairn-fed/cairn/replication"
)

func TestIsMember(t *testing.T) {
	a := newTestAuthority(t, 1)
	r := testFederation(t, a)
	p0, p1, p2 := testMember(0, "", "").PeerID, testMember(1, "", "").PeerID, testMember(2, "", "").PeerID
	expiry := t0.Add(24 * time.Hour)
	r, err := Renew(r, p2, expiry, a, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r, err = Revoke(r, p1, "", a, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		peer string
		now  time.Time
		want bool
	}{
		{"founder", p0, t0, true},
		{"revoked", p1, t0, false},
		{"before expiry", p2, expiry.Add(-time.Nanosecond), true},
		{"at expiry", p2, expiry, false},
		{"after expiry", p2, expiry.Add(time.Hour), false},
		{"stranger", "12D3KooWstranger", t0, false},
		{"empty", "", t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.IsMember(tt.peer, tt.now); got != tt.want {
				t.Errorf("IsMember(%q, %v) = %v, want %v", tt.peer, tt.now, got, tt.want)
			}
		})
	}
	if next, ok := r.NextExpiry(t0); !ok || !next.Equal(expiry) {
		t.Errorf("NextExpiry = %v, %v; want %v, true", next, ok, expiry)
	}
	if _, ok := r.NextExpiry(expiry); ok {
		t.Errorf("NextExpiry after the last expiry reported one")
	}
}

func TestQueries(t *testing.T) {
	a := newTestAuthority(t, 1)
	r := testFederation(t, a)
	if got, want := r.Operators(), []string{"acme", "globex", "initech"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Operators() = %v, want %v", got, want)
	}
	if got, want := r.Regions(), []string{"eu-west", "us-east"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Regions() = %v, want %v", got, want)
	}
	byOp := r.ByOperator()
	if got := len(byOp["acme"]); got != 2 {
		t.Errorf("acme runs %d members, want 2", got)
	}
	m, ok := r.Member(testMember(2, "", "").PeerID)
	if !ok || m.Operator != "globex" || m.Region != "us-east" {
		t.Errorf("Member(2) = %+v, %v; want globex in us-east", m, ok)
	}
}

func TestReplicationMembers(t *testing.T) {
	a := newTestAuthority(t, 1)
	r := testFederation(t, a)
	r, err := Revoke(r, testMember(3, "", "").PeerID, "", a, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := r.ReplicationMembers(t0.Add(time.Hour))
	var want []replication.Member
	for _, m := range []Member{testMember(0, "acme", "eu-west"), testMember(1, "acme", "eu-west"), testMember(2, "globex", "us-east")} {
		want = append(want, replication.Member{Peer: replication.PeerID(m.PeerID), Operator: m.Operator, Region: m.Region, PublicKey: m.PublicKey})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReplicationMembers:\ngot  %+v\nwant %+v", got, want)
	}
}
