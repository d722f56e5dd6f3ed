package membership

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
)

func TestCheckMemberKeys(t *testing.T) {
	a, b := newPeer(t), newPeer(t)
	ma, err := MemberFor(a, "op", "eu", t0)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := MemberFor(b, "op", "eu", t0)
	if err != nil {
		t.Fatal(err)
	}
	withKeyOf := func(m, of federation.Member) federation.Member { m.PublicKey = of.PublicKey; return m }
	withKey := func(m federation.Member, key []byte) federation.Member { m.PublicKey = key; return m }
	for _, tc := range []struct {
		name    string
		members []federation.Member
		want    error
	}{
		{"no members", nil, nil},
		{"each with its own key", []federation.Member{ma, mb}, nil},
		{"one listed with another peer's key", []federation.Member{ma, withKeyOf(mb, ma)}, federation.ErrInvalid},
		{"one with a key of the wrong size", []federation.Member{withKey(ma, []byte{1, 2, 3})}, federation.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkMemberKeys(federation.Roster{Members: tc.members})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("checkMemberKeys: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMemberFor(t *testing.T) {
	ed := newPeer(t)
	rsaKey, _, err := crypto.GenerateKeyPairWithReader(crypto.Secp256k1, 0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secp, err := peer.IDFromPrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		id      peer.ID
		wantErr string
	}{
		{"an ed25519 peer", ed, ""},
		{"a secp256k1 peer", secp, "members need ed25519"},
		{"not a peer ID", peer.ID("nonsense"), "does not embed its public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := MemberFor(tc.id, "op", "eu", t0)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("MemberFor: %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.PeerID != tc.id.String() || m.Operator != "op" || m.Region != "eu" || !m.AdmittedAt.Equal(t0) || !m.Expires.IsZero() {
				t.Errorf("MemberFor: %+v", m)
			}
			if err := checkMemberKeys(federation.Roster{Members: []federation.Member{m}}); err != nil {
				t.Errorf("the member's key does not give its peer ID: %v", err)
			}
		})
	}
}

func TestTokenAddrs(t *testing.T) {
	var many []string
	for range federation.MaxBootstrapAddrs + 3 {
		many = append(many, "/ip4/10.0.0.1/tcp/4001")
	}
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"none", nil, []string{}},
		{"loopback last", []string{"/ip4/127.0.0.1/tcp/1", "/ip6/::1/tcp/2", "/ip4/10.0.0.1/tcp/3"},
			[]string{"/ip4/10.0.0.1/tcp/3", "/ip4/127.0.0.1/tcp/1", "/ip6/::1/tcp/2"}},
		{"routable order kept", []string{"/ip4/10.0.0.2/tcp/1", "/dns4/a.example/tcp/2"}, []string{"/ip4/10.0.0.2/tcp/1", "/dns4/a.example/tcp/2"}},
		{"at most MaxBootstrapAddrs", many, many[:federation.MaxBootstrapAddrs]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TokenAddrs(tc.in)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") || len(got) != len(tc.want) {
				t.Errorf("TokenAddrs(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
