package replication

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// roster builds n members over ops operators and regions regions.
func roster(n, ops, regions int) []Member {
	var out []Member
	for i := range n {
		out = append(out, Member{Peer: PeerID(fmt.Sprintf("peer%02d", i)),
			Operator: fmt.Sprintf("op%d", i%ops), Region: fmt.Sprintf("r%d", i%regions), FreeBytes: uint64(i%4) << 32})
	}
	return out
}

func peers(ms []Member) []PeerID {
	var out []PeerID
	for _, m := range ms {
		out = append(out, m.Peer)
	}
	return out
}

func TestRankDeterministicRegardlessOfOrder(t *testing.T) {
	members := roster(12, 5, 3)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		obj := ObjectID(fmt.Sprintf("obj%d", i))
		want := peers(Rank(obj, members))
		shuffled := slices.Clone(members)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := peers(Rank(obj, shuffled)); !slices.Equal(got, want) {
			t.Fatalf("Rank(%s) shuffled = %v, want %v", obj, got, want)
		}
	}
}

func TestRankDiversity(t *testing.T) {
	tests := []struct {
		name                   string
		n, ops, regions, r     int
		wantOps, wantRegionsAt int
	}{
		{"enough operators", 12, 5, 3, 3, 3, 3},
		{"two regions", 10, 4, 2, 3, 3, 2},
		{"fewer operators than r", 6, 2, 2, 3, 2, 2},
		{"one region", 8, 4, 1, 3, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			members := roster(tt.n, tt.ops, tt.regions)
			for i := range 200 {
				top := Rank(ObjectID(fmt.Sprintf("obj%d", i)), members)[:tt.r]
				ops, regions := map[string]bool{}, map[string]bool{}
				for _, m := range top {
					ops[m.Operator], regions[m.Region] = true, true
				}
				if len(ops) != tt.wantOps || len(regions) != tt.wantRegionsAt {
					t.Fatalf("obj%d: first %d span %d operators, %d regions; want %d and %d", i, tt.r, len(ops), len(regions), tt.wantOps, tt.wantRegionsAt)
				}
			}
		})
	}
}

func TestTargetsMinimalDisruption(t *testing.T) {
	members := roster(16, 8, 3)
	leaving := members[5]
	rest := slices.DeleteFunc(slices.Clone(members), func(m Member) bool { return m.Peer == leaving.Peer })
	moved := 0
	for i := range 2000 {
		obj := ObjectID(fmt.Sprintf("obj%d", i))
		before := Targets(obj, members, 3, "op0")
		after := Targets(obj, rest, 3, "op0")
		if !slices.Contains(before, leaving.Peer) {
			if !slices.Equal(before, after) {
				t.Fatalf("%s moved from %v to %v though %s did not hold it", obj, before, after, leaving.Peer)
			}
			continue
		}
		// The object moves. (Repair keeps the remaining holders: it ranks
		// from the operators and regions they already cover.)
		moved++
	}
	if moved == 0 || moved > 2000/2 {
		t.Errorf("moved %d of 2000 objects, want a small non-zero share", moved)
	}
}

func TestTargetsRule(t *testing.T) {
	members := roster(10, 4, 2)
	tests := []struct {
		r       int
		owner   string
		wantLen int
	}{
		{3, "op0", 2}, {3, "", 3}, {5, "op0", 3}, {1, "op0", 0},
	}
	for _, tt := range tests {
		got := Targets("obj", members, tt.r, tt.owner)
		ops := map[string]bool{tt.owner: true}
		for _, p := range got {
			m := members[slices.IndexFunc(members, func(m Member) bool { return m.Peer == p })]
			if ops[m.Operator] {
				t.Errorf("Targets(r=%d, owner=%q) = %v: operator %s twice or owner's", tt.r, tt.owner, got, m.Operator)
			}
			ops[m.Operator] = true
		}
		if len(got) != tt.wantLen {
			t.Errorf("Targets(r=%d, owner=%q) has %d peers, want %d", tt.r, tt.owner, len(got), tt.wantLen)
		}
	}
}

func TestCapacityWeightFavoursFreeSpace(t *testing.T) {
	members := []Member{{Peer: "small", Operator: "a"}, {Peer: "big", Operator: "b", FreeBytes: 1 << 40}}
	bigFirst := 0
	for i := range 1000 {
		if Rank(ObjectID(fmt.Sprintf("o%d", i)), members)[0].Peer == "big" {
			bigFirst++
		}
	}
	if bigFirst < 800 {
		t.Errorf("member with 1 TiB free ranked first %d/1000 times, want most", bigFirst)
	}
}

// Targets returns the peers that should hold obj besides the owner's node.
// The owner's node keeps its copy and counts for ownerOperator, so Targets
// returns r-1 members of r-1 other distinct operators in Rank order (r of
// them when ownerOperator is empty). It never returns two members of one
// operator: extra copies on one operator do not make data safer, so it
// returns fewer when the federation has too few operators.
func Targets(obj ObjectID, members []Member, r int, ownerOperator string) []PeerID {
	ops := map[string]bool{}
	want := r
	if ownerOperator != "" {
		ops[ownerOperator] = true
		want--
	}
	var out []PeerID
	for _, m := range diversify(scoreAll(obj, members), ops, nil, len(members)) {
		if len(out) >= want || ops[m.Operator] {
			continue
		}
		ops[m.Operator] = true
		out = append(out, m.Peer)
	}
	return out
}
