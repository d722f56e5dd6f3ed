package federation

import (
	"fmt"
	"testing"
	"time"
)

// benchRoster builds a signed roster of n members over 8 operators and 3
// regions.
func benchRoster(b *testing.B, a *Authority, n int) Roster {
	b.Helper()
	r := Roster{Name: "bench", Version: 1, IssuedAt: t0}
	for i := range n {
		m := testMember(i, fmt.Sprintf("operator-%d", i%8), fmt.Sprintf("region-%d", i%3))
		m.AdmittedAt = t0
		r.Members = append(r.Members, m)
	}
	return mustSign(b, r, a)
}

func BenchmarkRoster(b *testing.B) {
	a := newTestAuthority(b, 1)
	for _, n := range []int{10, 100, MaxMembers} {
		r := benchRoster(b, a, n)
		enc := r.Encode()
		b.Run(fmt.Sprintf("decode/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := DecodeRoster(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("verify/%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := r.Verify(a.FederationID(), t0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ismember/%d", n), func(b *testing.B) {
			peer := r.Members[n/2].PeerID
			for b.Loop() {
				if !r.IsMember(peer, t0) {
					b.Fatal("not a member")
				}
			}
		})
	}
}

func BenchmarkParseJoinToken(b *testing.B) {
	a := newTestAuthority(b, 1)
	for _, n := range []int{10, 100} {
		r := benchRoster(b, a, n)
		tok, err := NewJoinToken(r, r.Members[0].PeerID, testBootstrap, t0.Add(time.Hour), a)
		if err != nil {
			b.Fatal(err)
		}
		s := tok.Encode()
		b.Run(fmt.Sprintf("members=%d/chars=%d", n, len(s)), func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseJoinToken(s, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
