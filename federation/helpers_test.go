package federation

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// seededReader is a deterministic randomness source for keys.
func seededReader(seed byte) *rand.ChaCha8 {
	return rand.NewChaCha8(sha256.Sum256([]byte{seed}))
}

func newTestAuthority(t testing.TB, seed byte) *Authority {
	t.Helper()
	a, err := NewAuthority(seededReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// testMember makes a member whose peer ID and key derive from i.
func testMember(i int, operator, region string) Member {
	seed := sha256.Sum256(fmt.Appendf(nil, "member %d", i))
	key := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
	return Member{PeerID: fmt.Sprintf("12D3KooWpeer%04d", i), PublicKey: key, Operator: operator, Region: region}
}

// testFederation creates a federation with a founder (member 0, "acme" in
// "eu-west") and admits members 1 ("acme", "eu-west"), 2 ("globex",
// "us-east") and 3 ("initech", "eu-west"): version 4.
func testFederation(t testing.TB, a *Authority) Roster {
	t.Helper()
	r, err := Create("test federation", a, testMember(0, "acme", "eu-west"), t0)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []Member{testMember(1, "acme", "eu-west"), testMember(2, "globex", "us-east"), testMember(3, "initech", "eu-west")} {
		r, err = Admit(r, m, a, t0.Add(time.Duration(i+1)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func mustSign(t testing.TB, r Roster, a *Authority) Roster {
	t.Helper()
	out, err := r.Sign(a)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// forge signs r with key while keeping r's federation ID and a chosen
// authority key field, bypassing Sign's checks: what an attacker can do.
func forge(r Roster, authorityKey ed25519.PublicKey, signer *Authority) Roster {
	out := r.clone()
	out.AuthorityKey = authorityKey
	out.Signature = signer.sign(rosterDomain, out.body())
	return out
}
