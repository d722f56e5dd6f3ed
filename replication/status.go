package replication

import (
	"slices"
	"strings"
	"time"
)

// HolderState says whether one holder's copy counts.
type HolderState uint8

// Holder states. Only HolderVerified counts towards copies.
const (
	HolderUnverified HolderState = iota // attested, never challenged yet
	HolderVerified                      // latest challenge passed within ProofFreshness (or the local copy)
	HolderFailed                        // latest challenge failed, timed out or was refused
	HolderStale                         // latest challenge passed, but longer ago than ProofFreshness
	HolderReleased                      // the holder attested that it no longer has a copy
	HolderRevoked                       // the holder is not (or no longer) a member; never counted
)

// String returns the state as one lowercase word.
func (s HolderState) String() string {
	names := [...]string{"unverified", "verified", "failed", "stale", "released", "revoked"}
	if int(s) < len(names) {
		return names[s]
	}
	return "unknown"
}

// HolderStatus is one holder's line in an ObjectStatus.
type HolderStatus struct {
	Peer       PeerID
	Operator   string // empty when the holder is not a member
	Region     string
	Local      bool // this node
	Pinned     bool // the holder never releases this copy (the owner's node)
	State      HolderState
	VerifiedAt time.Time // latest passed challenge; zero if none (or the local copy)
	CheckedAt  time.Time // time of the latest challenge outcome
	Reason     string    // why the copy does not count; empty when verified
}

// ObjectStatus is the local ledger's answer about one object, with no
// network fan-out. User-facing words (backed_up, at_risk, ...) are left to
// the caller.
type ObjectStatus struct {
	Object      ObjectID
	Known       bool   // the ledger has any record of the object
	Target      int    // replicas wanted; 0 when unknown
	Owner       []byte // owner's public key as attested; nil when unknown
	HeldLocally bool
	// Copies is the number of distinct operators with a verified copy.
	Copies int
	// Regions is the number of distinct regions among verified copies.
	Regions int
	Holders []HolderStatus // sorted by peer
	// LastFullyReplicatedAt is the last time this node saw Copies >= Target
	// (now, when that holds now); zero if never.
	LastFullyReplicatedAt time.Time
}

// Status reports obj as this node sees it at now.
func (c *Core) Status(obj ObjectID, now time.Time) ObjectStatus {
	v := c.view(obj, now)
	if v.st.Copies >= v.st.Target && v.st.Target > 0 {
		v.st.LastFullyReplicatedAt = now
		if v.e != nil { // remember it: a later loss is then "at risk", not "replicating"
			v.e.lastFull = now.UnixMilli()
		}
	}
	return v.st
}

// view is an object's status plus what repair and scheduling need.
type view struct {
	st         ObjectStatus
	e          *objectEntry
	coverOps   map[string]bool // operators with a verified or not yet challenged copy
	coverRegs  map[string]bool
	heldOps    map[string]bool // operators of members attesting a copy, whatever its state
	nextChange time.Time       // when a verified copy turns stale; zero if none
}

func (c *Core) view(obj ObjectID, now time.Time) *view {
	v := &view{st: ObjectStatus{Object: obj}, e: c.ledger.objects[obj],
		coverOps: map[string]bool{}, coverRegs: map[string]bool{}, heldOps: map[string]bool{}}
	if v.e != nil {
		v.st.Known = true
		v.st.LastFullyReplicatedAt = msTime(v.e.lastFull)
		for _, p := range v.e.pairs {
			if p.owner > 0 && v.st.Owner == nil {
				v.st.Owner = []byte(c.ledger.owners.name(p.owner - 1))
			}
			v.addHolder(c.holderStatus(obj, v.e, p, now), p, now, c.cfg.ProofFreshness)
		}
	}
	c.addLocal(v, obj)
	slices.SortFunc(v.st.Holders, func(a, b HolderStatus) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
	v.count()
	return v
}

// addHolder records one holder in the view.
func (v *view) addHolder(h HolderStatus, p pair, now time.Time, fresh time.Duration) {
	v.st.Holders = append(v.st.Holders, h)
	if h.State == HolderRevoked || h.State == HolderReleased {
		return
	}
	v.st.Target = max(v.st.Target, int(p.target))
	v.heldOps[h.Operator] = true
	if h.State == HolderVerified || h.State == HolderUnverified {
		v.coverOps[h.Operator] = true
		v.coverRegs[h.Region] = true
	}
	if h.State == HolderVerified && !h.Local {
		v.noteChange(h.VerifiedAt.Add(fresh))
	}
}

func (v *view) noteChange(t time.Time) {
	if v.nextChange.IsZero() || t.Before(v.nextChange) {
		v.nextChange = t
	}
}

// addLocal makes the local copy count, and the local target apply.
func (c *Core) addLocal(v *view, obj ObjectID) {
	lo := c.local[obj]
	if lo == nil {
		return
	}
	v.st.Target = max(v.st.Target, lo.target)
	if lo.owner != nil {
		v.st.Owner = lo.owner
	}
	v.st.HeldLocally = lo.held
	if !lo.held || slices.ContainsFunc(v.st.Holders, func(h HolderStatus) bool { return h.Local }) {
		return
	}
	m, ok := c.members[c.self]
	h := HolderStatus{Peer: c.self, Operator: m.Operator, Region: m.Region, Local: true, State: HolderVerified, Pinned: lo.pinned}
	if !ok {
		h.State, h.Reason = HolderRevoked, "this node is not a member"
	}
	v.st.Holders = append(v.st.Holders, h)
	if ok {
		v.coverOps[m.Operator], v.coverRegs[m.Region], v.heldOps[m.Operator] = true, true, true
	}
}

// count fills Copies and Regions from the verified holders.
func (v *view) count() {
	ops, regions := map[string]bool{}, map[string]bool{}
	for _, h := range v.st.Holders {
		if h.State == HolderVerified {
			ops[h.Operator], regions[h.Region] = true, true
		}
	}
	v.st.Copies, v.st.Regions = len(ops), len(regions)
}

// holderStatus judges one recorded holder.
func (c *Core) holderStatus(obj ObjectID, e *objectEntry, p pair, now time.Time) HolderStatus {
	peer := PeerID(c.ledger.peers.name(p.holder))
	m, member := c.members[peer]
	h := HolderStatus{Peer: peer, Operator: m.Operator, Region: m.Region, Local: peer == c.self, Pinned: p.flags&flagPinned != 0}
	switch {
	case !member:
		h.State, h.Reason = HolderRevoked, "not a member of the federation"
	case p.flags&flagHeld == 0:
		h.State, h.Reason = HolderReleased, "holder released its copy"
	case h.Local:
		c.judgeLocal(&h, obj)
	default:
		c.judgeRemote(&h, e, p.holder, now)
	}
	return h
}

func (c *Core) judgeLocal(h *HolderStatus, obj ObjectID) {
	if lo := c.local[obj]; lo != nil && lo.held {
		h.State = HolderVerified
		return
	}
	h.State, h.Reason = HolderReleased, "this node does not hold a copy"
}

// judgeRemote applies the counting rule to a remote holder's evidence:
// the latest outcome wins; a pass counts while fresher than ProofFreshness.
func (c *Core) judgeRemote(h *HolderStatus, e *objectEntry, peer uint32, now time.Time) {
	latest, passAt, found := c.evidence(e, peer, h.Operator)
	if !found {
		h.State, h.Reason = HolderUnverified, "not challenged yet"
		return
	}
	h.CheckedAt, h.VerifiedAt = msTime(latest.at()), msTime(passAt)
	switch r := latest.result(); {
	case r != ResultPass:
		h.State, h.Reason = HolderFailed, r.Reason()
	case now.Sub(h.CheckedAt) > c.cfg.ProofFreshness:
		h.State, h.Reason = HolderStale, "no passed challenge within the freshness window"
	default:
		h.State = HolderVerified
	}
}

// evidence returns the latest usable proof about peer and the latest pass.
// Usable: this node's own records, or proofs signed by a member of another
// operator than the holder's (an operator cannot vouch for itself).
func (c *Core) evidence(e *objectEntry, peer uint32, operator string) (latest proofRec, passAt int64, found bool) {
	selfID, selfOK := c.ledger.peers.lookup(string(c.self))
	for _, pr := range e.proofs {
		if pr.peer != peer || !c.usableProof(pr, selfOK && pr.verifier == selfID, operator) {
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

func (c *Core) usableProof(pr proofRec, bySelf bool, operator string) bool {
	if bySelf {
		return true
	}
	if pr.local() {
		return false
	}
	m, ok := c.members[PeerID(c.ledger.peers.name(pr.verifier))]
	return ok && m.Operator != operator
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
