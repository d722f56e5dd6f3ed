package replication

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
	"strings"
)

// The placement ranking as it was before it was made lazy (commit
// 379e7af), kept as the reference the property test in rank_test.go
// holds the current code to: it picked each member of a new operator by
// scanning the whole scored list, O(roster²) per ranking.

func refRank(obj ObjectID, members []Member) []Member {
	return refDiversify(refScoreAll(obj, members), nil, nil, len(members))
}

func refTopRanked(obj ObjectID, members []Member, n int) []PeerID {
	out := make([]PeerID, 0, n)
	for _, m := range refDiversify(refScoreAll(obj, members), nil, nil, n) {
		out = append(out, m.Peer)
	}
	return out
}

type refScored struct {
	m     Member
	score float64
}

func refScoreAll(obj ObjectID, members []Member) []refScored {
	out := make([]refScored, 0, len(members))
	for _, m := range members {
		out = append(out, refScored{m: m, score: refScore(obj, m)})
	}
	slices.SortFunc(out, func(a, b refScored) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a.m.Peer), string(b.m.Peer))
	})
	return out
}

func refScore(obj ObjectID, m Member) float64 {
	h := sha256.New()
	h.Write([]byte("cairn/placement/v1"))
	h.Write([]byte(obj))
	h.Write([]byte{0})
	h.Write([]byte(m.Peer))
	var sum [sha256.Size]byte
	x := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	u := (float64(x>>11) + 0.5) / (1 << 53)
	return capacityWeight(m.FreeBytes) / -math.Log(u)
}

func refDiversify(list []refScored, ops, regions map[string]bool, limit int) []Member {
	usedOps := cloneSet(ops)
	usedRegions := cloneSet(regions)
	taken := make([]bool, len(list))
	limit = min(limit, len(list))
	out := make([]Member, 0, limit)
	for len(out) < limit {
		i := refPickNext(list, taken, usedOps, usedRegions)
		if i < 0 {
			break
		}
		taken[i] = true
		usedOps[list[i].m.Operator] = true
		usedRegions[list[i].m.Region] = true
		out = append(out, list[i].m)
	}
	for i, s := range list {
		if len(out) == limit {
			break
		}
		if !taken[i] {
			out = append(out, s.m)
		}
	}
	return out
}

func refPickNext(list []refScored, taken []bool, ops, regions map[string]bool) int {
	first := -1
	for i, s := range list {
		if taken[i] || ops[s.m.Operator] {
			continue
		}
		if !regions[s.m.Region] {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

// refCandidates is Core.candidates as it was.
func refCandidates(c *Core, obj ObjectID, v *view, width int) []PeerID {
	holders := map[PeerID]bool{}
	for _, h := range v.st.Holders {
		holders[h.Peer] = h.State != HolderReleased && h.State != HolderRevoked
	}
	ops := cloneSet(v.coverOps)
	ranked := refDiversify(refScoreAll(obj, c.roster), v.coverOps, v.coverRegs, len(c.roster))
	var out []PeerID
	for _, reachable := range []bool{true, false} {
		for _, m := range ranked {
			if len(out) == width {
				return out
			}
			if _, down := c.down[m.Peer]; down == reachable || holders[m.Peer] || ops[m.Operator] {
				continue
			}
			ops[m.Operator] = true
			out = append(out, m.Peer)
		}
	}
	return out
}
