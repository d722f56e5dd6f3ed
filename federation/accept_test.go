package federation

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// chain returns rosters of versions 1..n+1 of one federation: Create, then
// n admissions.
func chain(t *testing.T, a *Authority, n int) []Roster {
	t.Helper()
	r, err := Create("chain", a, testMember(0, "acme", "eu"), t0)
	if err != nil {
		t.Fatal(err)
	}
	out := []Roster{r}
	for i := 1; i <= n; i++ {
		r, err = Admit(r, testMember(i, "op", "eu"), a, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestAccept(t *testing.T) {
	a, mallory := newTestAuthority(t, 1), newTestAuthority(t, 66)
	rs := chain(t, a, 3)
	v2, v3 := rs[1], rs[2]
	jump := v3.clone()
	jump.Version = v3.Version + MaxVersionJump + 1
	jump = mustSign(t, jump, a)
	twin, err := Admit(v2, testMember(9, "other", "us"), a, t0.Add(time.Hour)) // also version 3
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		current   Roster
		candidate Roster
		want      error
		keep      Roster
	}{
		{"newer", v2, v3, nil, v3},
		{"replayed older", v3, v2, ErrStale, v3},
		{"same again", v3, v3, ErrStale, v3},
		{"forged with wrong key", v2, forge(v3, mallory.PublicKey(), mallory), ErrBadSignature, v2},
		{"other federation", v2, chain(t, mallory, 3)[2], ErrOtherFederation, v2},
		{"absurd version jump", v3, jump, ErrVersionJump, v3},
		{"no current roster", Roster{}, v3, ErrNoCurrent, Roster{}},
		{"malformed", v2, Roster{FederationID: v2.FederationID}, ErrInvalid, v2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Accept(tt.current, tt.candidate, t0.Add(time.Hour))
			if !errors.Is(err, tt.want) {
				t.Errorf("error: got %v, want %v", err, tt.want)
			}
			var rej *RejectError
			if err != nil && !errors.As(err, &rej) {
				t.Errorf("error %T is not a *RejectError", err)
			}
			if !reflect.DeepEqual(got, tt.keep) {
				t.Errorf("kept version %d, want %d", got.Version, tt.keep.Version)
			}
		})
	}
	t.Run("conflict converges", func(t *testing.T) {
		x, errX := Accept(v3, twin, t0.Add(time.Hour))
		y, errY := Accept(twin, v3, t0.Add(time.Hour))
		if !errors.Is(errX, ErrConflict) || !errors.Is(errY, ErrConflict) {
			t.Errorf("errors %v, %v; want ErrConflict", errX, errY)
		}
		if !reflect.DeepEqual(x, y) {
			t.Errorf("kept different rosters depending on order")
		}
	})
}

// TestAcceptOrderIndependent applies random permutations of a set of valid
// rosters (including two conflicting ones of the top version) and checks
// that every order ends at the same roster of the highest version.
func TestAcceptOrderIndependent(t *testing.T) {
	a := newTestAuthority(t, 1)
	rs := chain(t, a, 6)
	twin, err := Admit(rs[5], testMember(99, "other", "us"), a, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	set := append(rs[1:], twin)
	want := applyAll(rs[0], set)
	if want.Version != rs[6].Version {
		t.Fatalf("ended at version %d, want %d", want.Version, rs[6].Version)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		perm := append([]Roster(nil), set...)
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		if got := applyAll(rs[0], perm); !reflect.DeepEqual(got, want) {
			t.Fatalf("permutation %d: ended at version %d (%x), want %d (%x)", i, got.Version, got.Signature[:4], want.Version, want.Signature[:4])
		}
	}
}

func applyAll(current Roster, candidates []Roster) Roster {
	for _, c := range candidates {
		current, _ = Accept(current, c, t0.Add(time.Hour))
	}
	return current
}
