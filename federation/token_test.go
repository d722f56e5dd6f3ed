package federation

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testBootstrap = []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWpeer0000", "/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWpeer0001"}

func newTestToken(t *testing.T, a *Authority, r Roster, peer string) JoinToken {
	t.Helper()
	tok, err := NewJoinToken(r, peer, testBootstrap, t0.Add(24*time.Hour), a)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestJoinTokenRoundTrip(t *testing.T) {
	a := newTestAuthority(t, 1)
	r := testFederation(t, a)
	peer := testMember(3, "", "").PeerID
	tok := newTestToken(t, a, r, peer)
	s := tok.Encode()
	if !strings.HasPrefix(s, "cjoin1") {
		t.Errorf("token %.20s... does not start with cjoin1", s)
	}
	for name, in := range map[string]string{"as issued": s, "upper case": strings.ToUpper(s), "wrapped": wrap(s, 76)} {
		got, err := ParseJoinToken(in, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("%s: ParseJoinToken: %v", name, err)
		}
		if !reflect.DeepEqual(got, tok) {
			t.Errorf("%s: round trip:\ngot  %+v\nwant %+v", name, got, tok)
		}
	}
	if err := tok.CheckFor(peer); err != nil {
		t.Errorf("CheckFor(own peer) = %v, want nil", err)
	}
	if err := tok.CheckFederation(""); err != nil {
		t.Errorf("CheckFederation(none) = %v, want nil", err)
	}
}

func wrap(s string, width int) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + "\n")
		s = s[width:]
	}
	return b.String() + s
}

func TestParseJoinTokenRejects(t *testing.T) {
	a, mallory := newTestAuthority(t, 1), newTestAuthority(t, 66)
	r := testFederation(t, a)
	peer := testMember(3, "", "").PeerID
	s := newTestToken(t, a, r, peer).Encode()
	later, err := Revoke(r, peer, "", a, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"empty", "", t0, ErrCorrupted},
		{"authority key instead", strings.TrimSpace(MarshalAuthority(a)), t0, ErrCorrupted},
		{"one character changed", flipChar(s, len(s)/2), t0, ErrCorrupted},
		{"not base32", s[:40] + "0" + s[41:], t0, ErrCorrupted},
		{"truncated", s[:len(s)/2], t0, ErrTruncated},
		{"last character lost", s[:len(s)-1], t0, ErrTruncated},
		{"prefix only", "cjoin1", t0, ErrTruncated},
		{"expired", s, t0.Add(25 * time.Hour), ErrTokenExpired},
		{"forged roster", forgedRosterToken(t, r, peer, mallory), t0, ErrBadSignature},
		{"token re-signed by another key", resignedToken(t, a, r, peer, mallory), t0, ErrBadSignature},
		{"peer revoked in the token's roster", mustToken(t, a, later, testMember(2, "", "").PeerID, peer), t0.Add(2 * time.Hour), ErrNotMember},
		{"too long", strings.Repeat("a", MaxTokenLen+1), t0, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJoinToken(tt.token, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestJoinTokenChecks(t *testing.T) {
	a, b := newTestAuthority(t, 1), newTestAuthority(t, 2)
	tok := newTestToken(t, a, testFederation(t, a), testMember(3, "", "").PeerID)
	if err := tok.CheckFor(testMember(2, "", "").PeerID); !errors.Is(err, ErrNotForThisPeer) {
		t.Errorf("CheckFor(other peer) = %v, want ErrNotForThisPeer", err)
	}
	if err := tok.CheckFederation(b.FederationID()); !errors.Is(err, ErrOtherFederation) {
		t.Errorf("CheckFederation(other) = %v, want ErrOtherFederation", err)
	}
}

func TestNewJoinTokenRejects(t *testing.T) {
	a, b := newTestAuthority(t, 1), newTestAuthority(t, 2)
	r := testFederation(t, a)
	peer := testMember(3, "", "").PeerID
	tests := []struct {
		name      string
		peer      string
		bootstrap []string
		expires   time.Time
		a         *Authority
		want      error
	}{
		{"no key", peer, nil, t0.Add(time.Hour), nil, ErrNoAuthority},
		{"other key", peer, nil, t0.Add(time.Hour), b, ErrNotAuthority},
		{"not a member", "12D3KooWstranger", nil, t0.Add(time.Hour), a, ErrNotMember},
		{"no expiry", peer, nil, time.Time{}, a, ErrInvalid},
		{"too many addresses", peer, make([]string, MaxBootstrapAddrs+1), t0.Add(time.Hour), a, ErrTooLarge},
		{"empty address", peer, []string{""}, t0.Add(time.Hour), a, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewJoinToken(r, tt.peer, tt.bootstrap, tt.expires, tt.a); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func flipChar(s string, i int) string {
	c := byte('a')
	if s[i] == 'a' {
		c = 'b'
	}
	return s[:i] + string(c) + s[i+1:]
}

func mustToken(t *testing.T, a *Authority, r Roster, issuedFor, peer string) string {
	t.Helper()
	tok := newTestToken(t, a, r, issuedFor)
	tok.PeerID = peer
	tok.Signature = a.sign(tokenDomain, tok.body())
	return tok.Encode()
}

// forgedRosterToken is a well-formed token whose roster claims our
// federation but is signed by mallory.
func forgedRosterToken(t *testing.T, r Roster, peer string, mallory *Authority) string {
	t.Helper()
	tok := JoinToken{FederationID: r.FederationID, PeerID: peer, Expires: t0.Add(time.Hour),
		Roster: forge(r, mallory.PublicKey(), mallory)}
	tok.Signature = mallory.sign(tokenDomain, tok.body())
	return tok.Encode()
}

// resignedToken carries the genuine roster but a token signature by
// mallory, who extended the expiry.
func resignedToken(t *testing.T, a *Authority, r Roster, peer string, mallory *Authority) string {
	t.Helper()
	tok := newTestToken(t, a, r, peer)
	tok.Expires = t0.Add(365 * 24 * time.Hour)
	tok.Signature = mallory.sign(tokenDomain, tok.body())
	return tok.Encode()
}
