package replication

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomRoster builds a roster of up to 40 members: several per operator,
// several operators per region (an operator may span regions), free
// space from unknown to several TiB.
func randomRoster(r *rand.Rand) []Member {
	n := r.IntN(41)
	ops := 1 + r.IntN(max(1, n/2))
	regions := 1 + r.IntN(6)
	out := make([]Member, n)
	for i := range out {
		op := r.IntN(ops)
		region := op % regions
		if r.IntN(4) == 0 {
			region = r.IntN(regions)
		}
		var free uint64
		if r.IntN(3) > 0 {
			free = r.Uint64N(1 << 43)
		}
		out[i] = Member{Peer: PeerID(fmt.Sprintf("12D3Koo%04x", r.IntN(1<<16))) + PeerID(fmt.Sprint(i)),
			Operator: fmt.Sprintf("op%d", op), Region: fmt.Sprintf("r%d", region), FreeBytes: free}
	}
	return out
}

// randomCover picks operators and regions already covered: some of the
// roster's, sometimes one outside it.
func randomCover(r *rand.Rand, members []Member) (ops, regions map[string]bool) {
	ops, regions = map[string]bool{}, map[string]bool{}
	for _, m := range members {
		if r.IntN(5) == 0 {
			ops[m.Operator] = true
		}
		if r.IntN(6) == 0 {
			regions[m.Region] = true
		}
	}
	if r.IntN(4) == 0 {
		ops["op-gone"], regions["r-gone"] = true, true
	}
	return ops, regions
}

// randomView gives a view of obj with the covered sets and some members
// as holders in every state; it marks some members down in c.
func randomView(r *rand.Rand, c *Core, members []Member, now time.Time) *view {
	ops, regions := randomCover(r, members)
	v := &view{coverOps: ops, coverRegs: regions}
	clear(c.down)
	for _, m := range members {
		if r.IntN(4) == 0 {
			v.st.Holders = append(v.st.Holders, HolderStatus{Peer: m.Peer, State: HolderState(r.IntN(int(HolderUnreachable) + 1))})
		}
		if r.IntN(3) == 0 {
			c.down[m.Peer] = now
		}
	}
	return v
}

// TestRankingMatchesReference: on random rosters the lazy ranking returns
// exactly what the reference (rankref_test.go) did, for every prefix
// length and every width: Rank, the audience's first members, a
// diversified order seeded with covered operators and regions, and the
// repair candidates with holders and unreachable members.
func TestRankingMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 29))
	c := newTestCore(t, "self")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for trial := range 400 {
		members := randomRoster(r)
		obj := ObjectID(fmt.Sprintf("bafyrank%d", trial))
		for _, m := range members {
			if got, want := Score(obj, m), refScore(obj, m); got != want {
				t.Fatalf("trial %d: Score(%s) = %v, want %v", trial, m.Peer, got, want)
			}
		}
		if got, want := peers(Rank(obj, members)), peers(refRank(obj, members)); !slices.Equal(got, want) {
			t.Fatalf("trial %d: Rank = %v, want %v", trial, got, want)
		}
		ops, regions := randomCover(r, members)
		for n := 0; n <= len(members)+1; n++ {
			if got, want := topRanked(obj, members, n), refTopRanked(obj, members, n); !slices.Equal(got, want) {
				t.Fatalf("trial %d: topRanked(%d) = %v, want %v", trial, n, got, want)
			}
			got := peers(diversify(scoreAll(obj, members), ops, regions, n))
			want := peers(refDiversify(refScoreAll(obj, members), ops, regions, n))
			if !slices.Equal(got, want) {
				t.Fatalf("trial %d: diversify(%v, %v, %d) = %v, want %v", trial, ops, regions, n, got, want)
			}
		}
		c.SetMembers(members, now)
		for range 3 {
			v := randomView(r, c, members, now)
			for w := 0; w <= len(members)+1; w++ {
				if got, want := c.candidates(obj, v, w), refCandidates(c, obj, v, w); !slices.Equal(got, want) {
					t.Fatalf("trial %d: candidates(width %d) = %v, want %v", trial, w, got, want)
				}
			}
		}
	}
}
