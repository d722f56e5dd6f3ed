package replication

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Placement rule (the same on every node, from the roster and the object
// ID alone):
//
//  1. Every member gets a rendezvous score for the object: the SHA-256 of
//     "cairn/placement/v1" || object || 0x00 || peer, read as a uniform
//     number u in (0,1), and scored w / -ln(u) (the logarithmic method of
//     weighted rendezvous hashing). The weight w grows by one per doubling
//     of free space above 1 GiB (w = 1 + bits.Len64(FreeBytes>>30)), so
//     nodes with a lot of room get more objects while small changes in free
//     space do not move anything. Ties break on the peer ID.
//  2. The scored list is then reordered for diversity: first one member per
//     operator, each step taking the best-scored member of a new operator,
//     preferring one in a region not yet covered while such a member
//     exists; then everybody else in score order. So the first k entries
//     span min(k, operators) operators and as many regions as the
//     operators allow.
//
// Removing a member only changes the prefix of an object's list from the
// point where that member stood, which is why only objects it held move.

// Rank returns all members ordered by preference for holding obj.
// The result does not depend on the order of members.
func Rank(obj ObjectID, members []Member) []Member {
	return diversify(scoreAll(obj, members), nil, nil, len(members))
}

// scored is a member with its score for one object. It points into the
// caller's members, which stay as they are while it is used: a list of
// these sorts faster than one of whole members.
type scored struct {
	m     *Member
	score float64
}

// scoreAll returns members sorted best first by weighted rendezvous score.
func scoreAll(obj ObjectID, members []Member) []scored {
	sc := newScorer(obj)
	out := make([]scored, len(members))
	for i := range members {
		out[i] = scored{m: &members[i], score: sc.score(members[i])}
	}
	slices.SortFunc(out, func(a, b scored) int {
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

// Score is the weighted rendezvous score of member m for obj; higher wins.
func Score(obj ObjectID, m Member) float64 {
	sc := newScorer(obj)
	return sc.score(m)
}

// scorer scores members for one object, hashing from one buffer that
// holds the part of the input every member shares.
type scorer struct {
	buf    []byte
	prefix int
}

func newScorer(obj ObjectID) scorer {
	buf := make([]byte, 0, len(placementTag)+len(obj)+1+64)
	buf = append(append(append(buf, placementTag...), obj...), 0)
	return scorer{buf: buf, prefix: len(buf)}
}

const placementTag = "cairn/placement/v1"

func (s *scorer) score(m Member) float64 {
	s.buf = append(s.buf[:s.prefix], m.Peer...)
	sum := sha256.Sum256(s.buf)
	x := binary.BigEndian.Uint64(sum[:8])
	u := (float64(x>>11) + 0.5) / (1 << 53) // uniform in (0,1), never 0 or 1
	return capacityWeight(m.FreeBytes) / -math.Log(u)
}

// capacityWeight is 1 for unknown or under 1 GiB of free space and grows
// by one per doubling above that.
func capacityWeight(free uint64) float64 {
	return float64(1 + bits.Len64(free>>30))
}

// diversify returns the first limit members of a scored list's
// diversified order (see rankOrder). ops and regions seed what is already
// covered; they are not modified.
func diversify(list []scored, ops, regions map[string]bool, limit int) []Member {
	o := newRankOrder(list, ops, regions)
	out := make([]Member, 0, min(limit, len(list)))
	for len(out) < cap(out) {
		m, _ := o.next()
		out = append(out, m)
	}
	return out
}

// rankOrder walks a scored list in its diversified order (rule 2 above),
// one member at a time, so that a caller needing a few members pays for
// those only. It picks exactly what a scan of the whole list per pick
// would, in O(1) amortized per member: the operators and regions used
// only grow, so a member passed over for either stays passed over, and
// each of the three cursors below moves forward only.
type rankOrder struct {
	list         []scored
	taken        []bool
	ops, regions map[string]bool // used so far, seeded by the caller's
	// fresh is the next member that may be of a new operator in a new
	// region, newOp the next that may be of a new operator; rest walks
	// everybody else once no operator is new.
	fresh, newOp, rest int
}

func newRankOrder(list []scored, ops, regions map[string]bool) *rankOrder {
	return &rankOrder{list: list, taken: make([]bool, len(list)), ops: cloneSet(ops), regions: cloneSet(regions)}
}

// next returns the next member, or false when every member was returned.
func (o *rankOrder) next() (Member, bool) {
	if i := o.pick(); i >= 0 {
		m := *o.list[i].m
		o.taken[i] = true
		o.ops[m.Operator], o.regions[m.Region] = true, true
		return m, true
	}
	for o.rest < len(o.list) {
		i := o.rest
		o.rest++
		if !o.taken[i] {
			return *o.list[i].m, true
		}
	}
	return Member{}, false
}

// pick returns the best member of a new operator, preferring a new
// region, or -1 when every operator is used. A taken member's operator
// is used, so neither cursor stops on one.
func (o *rankOrder) pick() int {
	for ; o.fresh < len(o.list); o.fresh++ {
		if m := o.list[o.fresh].m; !o.ops[m.Operator] && !o.regions[m.Region] {
			return o.fresh
		}
	}
	for ; o.newOp < len(o.list); o.newOp++ {
		if !o.ops[o.list[o.newOp].m.Operator] {
			return o.newOp
		}
	}
	return -1
}

func cloneSet(s map[string]bool) map[string]bool {
	out := make(map[string]bool, len(s)+4)
	for k, v := range s {
		out[k] = v
	}
	return out
}
