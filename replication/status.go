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
	HolderUnverified  HolderState = iota // attested, never challenged yet
	HolderVerified                       // latest challenge passed within ProofFreshness (or the local copy)
	HolderFailed                         // latest challenge failed, timed out or was refused
	HolderStale                          // latest challenge passed, but longer ago than ProofFreshness
	HolderReleased                       // the holder attested that it no longer has a copy
	HolderRevoked                        // the holder is not (or no longer) a member; never counted
	HolderUnreachable                    // this node lost its connection to the holder (see reach.go)
)

// String returns the state as one lowercase word.
func (s HolderState) String() string {
	names := [...]string{"unverified", "verified", "failed", "stale", "released", "revoked", "unreachable"}
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
	// Sampled says VerifiedAt is a verifier's latest round with the
	// holder, passed in full, rather than a check of this very copy
	// (which passed, at CheckedAt or before).
	Sampled   bool
	CheckedAt time.Time // time of the latest challenge outcome
	Reason    string    // why the copy does not count; empty when verified
}

// ObjectStatus is the local ledger's answer about one object, with no
// network fan-out. User-facing words (backed_up, at_risk, ...) are left to
// the caller.
type ObjectStatus struct {
	Object ObjectID
	Known  bool // the ledger has any record of the object
	// Target is the replicas wanted while any holder claims a copy (0
	// otherwise): the owner's verified policy, else what this node asked
	// for when it added the object, else the configured default.
	Target      int
	Owner       []byte // the owner key the object ID commits to; nil when unknown
	HeldLocally bool
	// HeldSince is when this node first kept its copy (TrackOptions.Since,
	// or when its fetch finished); zero when it holds none.
	HeldSince time.Time
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
//
// It only reads, so callers may ask under a read lock, concurrently: Tick
// (or RememberFull) records in the ledger when an object was last fully
// replicated, which a later loss reports as "at risk".
func (c *Core) Status(obj ObjectID, now time.Time) ObjectStatus {
	return c.status(obj, now, false)
}

// StatusRemembering is Status that also records, as Tick does, that obj
// is fully replicated at now when it is: for a caller that shows the
// status to someone, so that a loss right after reads "at risk", as for
// an object that had its copies, before the next Tick has looked.
func (c *Core) StatusRemembering(obj ObjectID, now time.Time) ObjectStatus {
	return c.status(obj, now, true)
}

func (c *Core) status(obj ObjectID, now time.Time, remember bool) ObjectStatus {
	v := c.view(obj, now)
	if fullNow(v.st.Copies, v.st.Target) {
		v.st.LastFullyReplicatedAt = now
		if remember && v.e != nil {
			v.e.lastFull = now.UnixMilli()
		}
	}
	return v.st
}

// RememberFull records that obj is fully replicated at now, if it is:
// what Tick does for the objects it looks at.
func (c *Core) RememberFull(obj ObjectID, now time.Time) {
	c.status(obj, now, true)
}

// fullNow is the rule for LastFullyReplicatedAt: an object whose copies
// reach its target is fully replicated now.
func fullNow(copies, target int) bool { return target > 0 && copies >= target }

// view is an object's status plus what repair and scheduling need.
type view struct {
	st         ObjectStatus
	e          *objectEntry
	coverOps   map[string]bool // operators with a verified or not yet challenged copy
	coverRegs  map[string]bool
	heldOps    map[string]bool // operators of members attesting a copy, whatever its state
	nextChange time.Time       // when a verified copy turns stale; zero if none
	candidates []PeerID        // who should fetch it now (set by considerRepair)
}

func (c *Core) view(obj ObjectID, now time.Time) *view {
	v := &view{st: ObjectStatus{Object: obj}, e: c.ledger.objects.get(obj),
		coverOps: map[string]bool{}, coverRegs: map[string]bool{}, heldOps: map[string]bool{}}
	if v.e != nil {
		j := c.judge(now)
		v.st.Known = true
		v.st.LastFullyReplicatedAt = msTime(v.e.lastFull)
		v.st.Owner = v.e.owner()
		for i := range v.e.pairs {
			p := &v.e.pairs[i]
			h := j.holder(obj, v.e, p).status(PeerID(c.ledger.peers.name(p.holder)))
			v.addHolder(h, now, c.cfg.ProofFreshness)
		}
	}
	if lo := c.local[obj]; lo != nil || len(v.heldOps) > 0 {
		v.st.Target = c.targetOf(obj, lo)
	}
	c.addLocal(v, obj)
	slices.SortFunc(v.st.Holders, func(a, b HolderStatus) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
	v.count()
	return v
}

// addHolder records one holder in the view.
func (v *view) addHolder(h HolderStatus, now time.Time, fresh time.Duration) {
	v.st.Holders = append(v.st.Holders, h)
	if !claims(h.State) {
		return
	}
	v.heldOps[h.Operator] = true
	if h.State == HolderVerified || h.State == HolderUnverified {
		v.coverOps[h.Operator] = true
		v.coverRegs[h.Region] = true
	}
	if h.State == HolderVerified && !h.Local && !h.Sampled {
		// A copy counted on a round is looked at again when the round
		// goes stale (expireRounds), not once per object.
		v.noteChange(h.VerifiedAt.Add(fresh))
	}
}

// shortSince is when the object's verified copies fell below its target,
// as the ledger's evidence shows: each holder still claiming a copy that
// no longer counts stopped counting when its latest challenge failed, or
// when its latest pass went stale; the object fell short once enough of
// them had stopped. A node that hears of an object only now, as a new
// repair candidate, so dates the shortfall as the nodes that watched it
// did, and agrees with them how far repair has escalated. Without such
// evidence it is now.
// A holder this node sees as unreachable stopped when its connection
// closed.
func (c *Core) shortSince(v *view, now time.Time) time.Time {
	var stops []time.Time
	for _, h := range v.st.Holders {
		switch h.State {
		case HolderFailed:
			stops = append(stops, h.CheckedAt)
		case HolderStale:
			stops = append(stops, h.VerifiedAt.Add(c.cfg.ProofFreshness))
		case HolderUnreachable:
			stops = append(stops, c.down[h.Peer])
		}
	}
	// Before the k-th stop (1-based), copies + len(stops) - (k-1) counted.
	k := v.st.Copies + len(stops) - v.st.Target + 1
	if k < 1 || k > len(stops) {
		return now
	}
	slices.SortFunc(stops, time.Time.Compare)
	if stops[k-1].After(now) {
		return now
	}
	return stops[k-1]
}

func (v *view) noteChange(t time.Time) {
	if v.nextChange.IsZero() || t.Before(v.nextChange) {
		v.nextChange = t
	}
}

// claims reports whether a holder in state s still says it has a copy:
// its operator is among the holders.
func claims(s HolderState) bool { return s != HolderRevoked && s != HolderReleased }

// addLocal makes the local copy count, and the local target apply.
func (c *Core) addLocal(v *view, obj ObjectID) {
	lo := c.local[obj]
	if lo == nil {
		return
	}
	v.st.HeldLocally = lo.held
	if lo.held && lo.since > 0 {
		v.st.HeldSince = msTime(lo.since)
	}
	lv, ok := c.localHolder(lo, slices.ContainsFunc(v.st.Holders, func(h HolderStatus) bool { return h.Local }))
	if !ok {
		return
	}
	h := lv.status(c.self)
	v.st.Holders = append(v.st.Holders, h)
	if h.State == HolderVerified {
		v.coverOps[h.Operator], v.coverRegs[h.Region], v.heldOps[h.Operator] = true, true, true
	}
}

// localHolder is this node's own line for a copy it holds that no ledger
// record lists yet (listed: a record names this node already).
func (c *Core) localHolder(lo *localObject, listed bool) (verdict, bool) {
	if !lo.held || listed {
		return verdict{}, false
	}
	m, ok := c.members[c.self]
	v := verdict{peer: peerInfo{operator: m.Operator, region: m.Region, ok: ok}, local: true, pinned: lo.pinned, state: HolderVerified}
	if !ok {
		v.state, v.reason = HolderRevoked, "this node is not a member"
	}
	return v, true
}

// count fills Copies and Regions from the verified holders.
func (v *view) count() {
	var k counter
	for _, h := range v.st.Holders {
		k.add(h.State, h.Operator, h.Region)
	}
	v.st.Copies, v.st.Regions = k.ops.len(), k.regions.len()
}

// counter counts the distinct operators and regions of verified holders:
// copies on two nodes of one operator count once.
type counter struct {
	ops, regions distinct
}

func (k *counter) add(s HolderState, operator, region string) {
	if s == HolderVerified {
		k.ops.add(operator)
		k.regions.add(region)
	}
}

// distinct is a small set of strings that allocates nothing up to eight
// members (objects have a handful of holders).
type distinct struct {
	few  [8]string
	n    int
	more []string // members past the eighth
}

func (d *distinct) add(s string) {
	if slices.Contains(d.few[:min(d.n, len(d.few))], s) || slices.Contains(d.more, s) {
		return
	}
	if d.n < len(d.few) {
		d.few[d.n] = s
	} else {
		d.more = append(d.more, s)
	}
	d.n++
}

func (d *distinct) len() int { return d.n }
