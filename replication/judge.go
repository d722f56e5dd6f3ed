package replication

import (
	"time"
)

// verdict is the counting rule's judgement of one holder: what a
// HolderStatus says, without the peer's name and with times in unix ms,
// so that a pass over every object can judge holders without allocating.
type verdict struct {
	peer          peerInfo
	local, pinned bool
	state         HolderState
	reason        string // why the copy does not count; empty when verified
	checked       int64  // latest usable challenge outcome; 0 when none
	passed        int64  // latest usable passed challenge; 0 when none
	sampled       bool   // passed is a round of the pair, not a check of the copy
}

// status dresses the verdict about peer as a HolderStatus.
func (v verdict) status(peer PeerID) HolderStatus {
	return HolderStatus{Peer: peer, Operator: v.peer.operator, Region: v.peer.region, Local: v.local, Pinned: v.pinned,
		State: v.state, VerifiedAt: msTime(v.passed), Sampled: v.sampled, CheckedAt: msTime(v.checked), Reason: v.reason}
}

// judge applies the counting rule at one time. Status makes one per call;
// a pass over many objects makes one for all of them.
type judge struct {
	c      *Core
	now    time.Time
	peers  peerTable
	loaded int64 // what Overviews read ahead, kept so that the reads stay
}

func (c *Core) judge(now time.Time) judge {
	return judge{c: c, now: now, peers: c.peerTable()}
}

// holder judges one recorded holder of obj.
func (j *judge) holder(obj ObjectID, e *objectEntry, p *pair) verdict {
	v := verdict{peer: *j.peers.member(p.holder), pinned: p.flags&flagPinned != 0}
	v.local = j.peers.selfOK && p.holder == j.peers.self
	switch {
	case !v.peer.ok:
		v.state, v.reason = HolderRevoked, "not a member of the federation"
	case p.flags&flagHeld == 0:
		v.state, v.reason = HolderReleased, "holder released its copy"
	case v.local:
		j.judgeLocal(&v, obj)
	default:
		j.judgeRemote(&v, obj, e, p.holder)
		if v.peer.down && v.state != HolderFailed {
			v.state, v.reason = HolderUnreachable, "holder unreachable: its connection to this node closed"
		}
	}
	return v
}

func (j *judge) judgeLocal(v *verdict, obj ObjectID) {
	if lo := j.c.local[obj]; lo != nil && lo.held {
		v.state = HolderVerified
		return
	}
	v.state, v.reason = HolderReleased, "this node does not hold a copy"
}

// judgeRemote applies the counting rule to a remote holder's evidence:
// the latest outcome wins; a pass counts while fresher than ProofFreshness.
func (j *judge) judgeRemote(v *verdict, obj ObjectID, e *objectEntry, peer uint32) {
	ev := j.evidence(obj, e, peer, v.peer.operator)
	if !ev.found {
		v.state, v.reason = HolderUnverified, "not challenged yet"
		return
	}
	v.checked, v.passed, v.sampled = ev.checked, ev.passAt, ev.passSampled
	switch {
	case ev.result != ResultPass:
		v.state, v.reason = HolderFailed, ev.result.Reason()
	case j.now.Sub(msTime(ev.at)) > j.c.cfg.ProofFreshness:
		v.state, v.reason = HolderStale, "no passed challenge within the freshness window"
	default:
		v.state = HolderVerified
	}
}

// copyEvidence is what the usable proofs say of one holder's copy.
type copyEvidence struct {
	found   bool
	result  Result // of the latest outcome
	at      int64  // when the latest outcome was known
	passAt  int64  // the latest pass
	checked int64  // the latest check of this copy itself
	// passSampled: passAt is a round of the pair that carried a check
	// forward, not the check itself.
	passSampled bool
}

// evidence weighs the usable proofs about peer's copy of obj. Usable:
// this node's own records, or proofs signed by a member of another
// operator than the holder's (an operator cannot vouch for itself). A
// verifier's latest check of the copy, when it passed, is carried forward
// to the verifier's latest round with peer passed in full, as long as the
// verifier holds obj itself (so the copy was among those the round could
// sample); the latest outcome over all verifiers wins.
func (j *judge) evidence(obj ObjectID, e *objectEntry, peer uint32, operator string) copyEvidence {
	var ev copyEvidence
	for i, pr := range e.proofs {
		if pr.peer != peer || !j.peers.usable(pr, operator) {
			continue
		}
		at := pr.at()
		ev.checked = max(ev.checked, at)
		if pr.result() == ResultPass {
			vouched := int64(0)
			if latestOfVerifier(e, i) {
				vouched = j.vouched(obj, e, pr.verifier, peer)
			}
			if vouched > at {
				at = vouched
			}
			if at > ev.passAt {
				ev.passAt, ev.passSampled = at, vouched == at && vouched > pr.at()
			}
		}
		if !ev.found || at > ev.at || (at == ev.at && pr.result() > ev.result) {
			ev.found, ev.at, ev.result = true, at, pr.result()
		}
	}
	return ev
}

// latestOfVerifier reports whether e.proofs[i] is its verifier's latest
// word on its peer's copy (this node keeps its own unsigned record beside
// the one it last signed).
func latestOfVerifier(e *objectEntry, i int) bool {
	pr := e.proofs[i]
	for k, o := range e.proofs {
		if k != i && o.verifier == pr.verifier && o.peer == pr.peer &&
			(o.at() > pr.at() || (o.at() == pr.at() && o.result() != ResultPass)) {
			return false
		}
	}
	return true
}

// vouched is the unix ms of verifier's latest round with peer passed in
// full, when verifier holds obj; 0 otherwise.
func (j *judge) vouched(obj ObjectID, e *objectEntry, verifier, peer uint32) int64 {
	at := j.c.ledger.roundPassed(verifier, peer)
	if at == 0 {
		return 0
	}
	if j.peers.selfOK && verifier == j.peers.self {
		if lo := j.c.local[obj]; lo != nil && lo.held {
			return at
		}
		return 0
	}
	if i := e.find(verifier); i >= 0 && e.pairs[i].flags&flagHeld != 0 {
		return at
	}
	return 0
}

// peerTable resolves interned peer IDs to what the counting rule needs of
// the roster. A pass over many objects fills table once (fill);
// a single object asks the members map for each peer it meets.
type peerTable struct {
	c      *Core
	self   uint32 // this node's interned ID, when selfOK
	selfOK bool
	table  []peerInfo // by interned peer ID; nil: look up c.members
	last   peerInfo   // the latest answer of member without a table
}

// peerInfo is one peer as the counting rule sees it.
type peerInfo struct {
	operator, region string
	ok               bool // a member of the federation
	down             bool // unreachable from this node (see reach.go)
}

func (c *Core) peerTable() peerTable {
	self, ok := c.ledger.peers.lookup(string(c.self))
	return peerTable{c: c, self: self, selfOK: ok}
}

// fill resolves every peer the ledger knows now, so that member is one
// slice index.
func (r *peerTable) fill() {
	r.table = make([]peerInfo, len(r.c.ledger.peers.names))
	for i := range r.table {
		r.table[i] = r.lookup(uint32(i))
	}
}

// member returns what the table knows of peer id. The answer is valid
// until the next call.
func (r *peerTable) member(id uint32) *peerInfo {
	if r.table != nil {
		return &r.table[id]
	}
	r.last = r.lookup(id)
	return &r.last
}

func (r *peerTable) lookup(id uint32) peerInfo {
	peer := PeerID(r.c.ledger.peers.name(id))
	m, ok := r.c.members[peer]
	_, down := r.c.down[peer]
	return peerInfo{operator: m.Operator, region: m.Region, ok: ok, down: down}
}

// usable reports whether a proof may count for a holder of operator: it
// is this node's own record, or signed by a member of another operator.
func (r *peerTable) usable(pr proofRec, operator string) bool {
	if r.selfOK && pr.verifier == r.self {
		return true
	}
	if pr.local() {
		return false
	}
	m := r.member(pr.verifier)
	return m.ok && m.operator != operator
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
