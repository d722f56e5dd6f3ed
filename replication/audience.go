package replication

import (
	"math"
	"slices"
)

// Who hears about an object.
//
// A node keeps records only of the objects it has a part in, so its
// ledger, and the attestations it receives and checks, grow with its share
// of the federation rather than with the whole federation. A holder sends
// every attestation it signs to the object's audience:
//
//   - every other member that attests a copy: holders challenge each
//     other and count each other's copies;
//   - the first Target+AudienceSpare members of Rank(obj): the owner's
//     placement targets and the first repair candidates are among them,
//     so they know the object before they are needed;
//   - while the object is short of its target, the current repair
//     candidates, however far escalation has widened them.
//
// A holder remembers whom it has told about each object it holds. When
// the audience grows (a new holder attests, the roster changes, repair
// escalates), the newcomers get every record of the object it has at the
// next Tick, each signed by its holder.
// The node delivers each Outgoing to every peer in To, holding it for
// peers that are offline; anti-entropy on reconnect is the backstop.

// AudienceSpare is how many members beyond an object's target hear about
// it even while it is fully replicated: the first repair candidates.
const AudienceSpare = 3

// Outgoing is one of this node's signed attestations and the peers it
// must reach.
type Outgoing struct {
	Attestation Attestation
	To          []PeerID // sorted, never this node
}

// audience returns, sorted, the peers that must hear this node's
// attestation of obj, a local object with view v (after considerRepair
// filled in its candidates).
func (c *Core) audience(obj ObjectID, v *view, lo *localObject) []PeerID {
	set := map[PeerID]bool{}
	for _, h := range v.st.Holders {
		if !h.Local && h.State != HolderReleased && h.State != HolderRevoked {
			set[h.Peer] = true
		}
	}
	for _, p := range c.rankedFor(obj, lo) {
		set[p] = true
	}
	for _, p := range v.candidates {
		set[p] = true
	}
	delete(set, c.self)
	out := make([]PeerID, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// rankedFor returns the first target+AudienceSpare members of Rank(obj),
// cached on the local object until the roster changes.
func (c *Core) rankedFor(obj ObjectID, lo *localObject) []PeerID {
	n := c.targetOf(obj, lo) + AudienceSpare
	if lo.rankedGen == c.rosterGen && lo.ranked != nil && lo.rankedN == n {
		return lo.ranked
	}
	lo.ranked, lo.rankedN = topRanked(obj, c.roster, n), n
	lo.rankedGen = c.rosterGen
	return lo.ranked
}

// topRanked returns the peers of the first n members of Rank(obj, members).
func topRanked(obj ObjectID, members []Member, n int) []PeerID {
	out := make([]PeerID, 0, n)
	for _, m := range diversify(scoreAll(obj, members), nil, nil, n) {
		out = append(out, m.Peer)
	}
	return out
}

// tellNewcomers sends the records of obj to audience members that have
// not had this node's attestation yet, and remembers them.
func (c *Core) tellNewcomers(obj ObjectID, v *view, lo *localObject) {
	aud := c.audience(obj, v, lo)
	var fresh []PeerID
	for _, p := range aud {
		if _, told := slices.BinarySearch(lo.told, p); !told {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return
	}
	// Newcomers get every record of the object, each signed by its
	// holder: a repair candidate must learn of the copies that were lost
	// too, to see the object short of its target and since when.
	if e := c.ledger.objects.get(obj); e != nil {
		for _, p := range e.pairs {
			c.out.Publish = append(c.out.Publish, Outgoing{Attestation: c.ledger.attestation(obj, e, p), To: fresh})
		}
	}
	lo.told = mergeSorted(lo.told, fresh)
	c.localGen++
}

// mergeSorted returns the sorted union of two sorted lists.
func mergeSorted(a, b []PeerID) []PeerID {
	out := make([]PeerID, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// InAudience reports whether peer should hear of obj, as far as this
// node can tell: it attests a copy, or ranks among the first
// target+AudienceSpare members, or (for an object this node holds) this
// node told it of obj.
func (c *Core) InAudience(obj ObjectID, peer PeerID) bool {
	rankings := math.MaxInt
	return c.inAudience(obj, peer, &rankings)
}

// maxAnswerRanking bounds the members one anti-entropy answer may rank
// (one SHA-256 each), about 15 ms of a core: see Missing.
const maxAnswerRanking = 1 << 16

// Missing returns the attestations that peer, whose ledger summary is
// remote, lacks among the objects it should hear of. Anti-entropy sends
// a peer only the records it should hear of. Whether it ranks among an
// object's first members takes ranking every member for the object; an
// object this node holds keeps its ranking, the others are ranked anew.
// So that one pull cannot make this node rank every member for every
// object of its ledger (at 1,000 members that was 41 % of the core
// simulation's CPU), an answer ranks at most maxAnswerRanking members in
// all; the records of objects beyond that are left to their holders'
// answers and the next pull.
func (c *Core) Missing(remote Summary, peer PeerID) []Attestation {
	rankings := maxAnswerRanking / max(1, len(c.roster))
	return c.ledger.Missing(remote, func(obj ObjectID) bool { return c.inAudience(obj, peer, &rankings) })
}

// inAudience is InAudience ranking the members for at most *rankings
// more objects, counted down.
func (c *Core) inAudience(obj ObjectID, peer PeerID, rankings *int) bool {
	e := c.ledger.objects.get(obj)
	if e == nil {
		return false
	}
	if id, ok := c.ledger.peers.lookup(string(peer)); ok && e.find(id) >= 0 {
		return true
	}
	lo := c.local[obj]
	n := c.targetOf(obj, lo) + AudienceSpare
	if lo != nil {
		if _, told := slices.BinarySearch(lo.told, peer); told {
			return true
		}
		if lo.rankedGen == c.rosterGen && lo.ranked != nil && lo.rankedN == n {
			return slices.Contains(lo.ranked, peer)
		}
	}
	if *rankings <= 0 {
		return false
	}
	*rankings--
	return slices.Contains(topRanked(obj, c.roster, n), peer)
}

// Sources lists the members to fetch obj from, best first: those whose
// latest attestation says they hold a copy, in the ledger's order, then
// the first target+AudienceSpare members of Rank(obj), where the owner's
// placement put it and repair looks first. An object this node has never
// heard of is found among the latter without asking anyone. Only current
// members, never this node, at most limit.
func (c *Core) Sources(obj ObjectID, limit int) []PeerID {
	out := make([]PeerID, 0, limit)
	add := func(p PeerID) {
		if len(out) < limit && p != c.self && !slices.Contains(out, p) {
			if _, member := c.members[p]; member {
				out = append(out, p)
			}
		}
	}
	if e := c.ledger.objects.get(obj); e != nil {
		for _, p := range e.pairs {
			if p.flags&flagHeld != 0 {
				add(PeerID(c.ledger.peers.name(p.holder)))
			}
		}
	}
	for _, p := range topRanked(obj, c.roster, c.targetOf(obj, c.local[obj])+AudienceSpare) {
		add(p)
	}
	return out
}
