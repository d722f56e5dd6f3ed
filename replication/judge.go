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
}

// status dresses the verdict about peer as a HolderStatus.
func (v verdict) status(peer PeerID) HolderStatus {
	return HolderStatus{Peer: peer, Operator: v.peer.operator, Region: v.peer.region, Local: v.local, Pinned: v.pinned,
		State: v.state, VerifiedAt: msTime(v.passed), CheckedAt: msTime(v.checked), Reason: v.reason}
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
		j.judgeRemote(&v, e, p.holder)
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
func (j *judge) judgeRemote(v *verdict, e *objectEntry, peer uint32) {
	latest, passAt, found := evidence(e, peer, v.peer.operator, &j.peers)
	if !found {
		v.state, v.reason = HolderUnverified, "not challenged yet"
		return
	}
	v.checked, v.passed = latest.at(), passAt
	switch res := latest.result(); {
	case res != ResultPass:
		v.state, v.reason = HolderFailed, res.Reason()
	case j.now.Sub(msTime(v.checked)) > j.c.cfg.ProofFreshness:
		v.state, v.reason = HolderStale, "no passed challenge within the freshness window"
	default:
		v.state = HolderVerified
	}
}

// evidence returns the latest usable proof about peer and the latest pass.
// Usable: this node's own records, or proofs signed by a member of another
// operator than the holder's (an operator cannot vouch for itself).
func evidence(e *objectEntry, peer uint32, operator string, r *peerTable) (latest proofRec, passAt int64, found bool) {
	for _, pr := range e.proofs {
		if pr.peer != peer || !r.usable(pr, operator) {
			continue
		}
		if pr.result() == ResultPass {
			passAt = max(passAt, pr.at())
		}
		if !found || pr.at() > latest.at() || (pr.at() == latest.at() && pr.result() > latest.result()) {
			latest, found = pr, true
		}
	}
	return latest, passAt, found
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
