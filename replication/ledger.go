package replication

import (
	"bytes"
	"crypto/ed25519"
	"iter"
	"slices"
	"strings"
	"time"
)

// Ledger is the replica ledger: per object, per holder, the newest
// attestation (last writer wins on Seq), plus this node's challenger-side
// records. It does no verification: Core.Receive checks before applying.
//
// Memory is kept small because a node may record many objects (every
// object it has a part in): peer IDs are interned to small integers,
// objects are numbered (objects.go), times are int64 milliseconds, and
// each object has one slice of holders and one slice of proofs, and at
// most one owner's policy.
//
// A Ledger is not safe for concurrent use.
type Ledger struct {
	peers   interner
	objects objectTable
	stats   []holderStat // indexed by peer index
	// heldBy lists, by peer index, the numbers in objects of the objects
	// that peer attested: what a change in that peer's reachability
	// touches, found without a walk of the whole ledger.
	heldBy [][]uint32
	// rounds holds, by verifier<<32 | holder (interned), the unix ms of
	// the latest sampled round the verifier passed the holder in full
	// (rounds.go): this node's own, and those members' statements
	// vouch for. Kept in memory only: after a restart this node's rounds
	// start at once and members hand over their statements on connect.
	rounds map[uint64]int64
	// holderChanges counts the attestations applied that added a holder
	// to an object or turned a holder's held flag: what caches of who
	// holds what compare. A newer record of the same copy, with fresh
	// proofs, as every quiet holder sends, leaves it as it was.
	holderChanges uint64
}

type objectEntry struct {
	id       ObjectID // the object this entry is about
	pairs    []pair
	proofs   []proofRec
	lastFull int64 // unix ms when last seen fully replicated; 0 never
	// policy is the newest verified owner's policy, nil when none is
	// known. The owner key lives behind the same pointer: most objects
	// of a large ledger may have no policy, and a key's slice header in
	// every entry would cost them a size class (80 bytes to 112).
	policy *ownedPolicy
}

// ownedPolicy is a verified policy and the owner key it was verified
// against (the key the object's ID commits to).
type ownedPolicy struct {
	Policy
	owner ed25519.PublicKey
}

// owner returns the owner key of e's policy; nil when none is known.
func (e *objectEntry) owner() ed25519.PublicKey {
	if e.policy == nil {
		return nil
	}
	return e.policy.owner
}

// pair is one holder's newest attestation for one object.
type pair struct {
	seq    uint64
	issued int64 // unix ms
	holder uint32
	leaves uint32
	target uint8
	flags  uint8
	sig    [64]byte
}

// proofRec is a proof carried by a verifier's attestation, or (local set)
// this node's own latest challenge outcome not yet signed.
type proofRec struct {
	packed   int64 // at (unix ms) << 4 | local << 3 | result
	verifier uint32
	peer     uint32
}

func packProof(at int64, local bool, r Result) int64 {
	p := at<<4 | int64(r&7)
	if local {
		p |= 8
	}
	return p
}

func (p proofRec) at() int64      { return p.packed >> 4 }
func (p proofRec) local() bool    { return p.packed&8 != 0 }
func (p proofRec) result() Result { return Result(p.packed & 7) }

type holderStat struct {
	maxSeq uint64
	count  uint64
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{peers: newInterner(), rounds: map[uint64]int64{}}
}

// Apply merges one attestation and reports whether it changed the ledger.
// The newest Seq per (object, holder) wins; equal Seqs keep the smaller
// signature, so the outcome never depends on arrival order. An attached
// policy is not applied: the core verifies it and calls SetPolicy.
func (l *Ledger) Apply(a Attestation) bool {
	e := l.objects.get(a.Object)
	h := l.peers.id(string(a.Holder))
	i := e.find(h)
	if i >= 0 && !newer(a, e.pairs[i]) {
		return false
	}
	p := l.pairOf(a, h)
	if i < 0 {
		var n uint32
		n, e = l.objects.add(a.Object)
		e.pairs = appendExact(e.pairs, p)
		for int(h) >= len(l.heldBy) {
			l.heldBy = append(l.heldBy, nil)
		}
		l.heldBy[h] = append(l.heldBy[h], n)
		l.holderChanges++
	} else {
		if (e.pairs[i].flags^p.flags)&flagHeld != 0 {
			l.holderChanges++
		}
		l.unstat(e.pairs[i])
		e.pairs[i] = p
	}
	l.stat(p)
	e.setProofs(h, l.proofRecs(h, a.Proofs))
	return true
}

// newer reports whether a wins over the recorded pair.
func newer(a Attestation, p pair) bool {
	if a.Seq != p.seq {
		return a.Seq > p.seq
	}
	return bytes.Compare(a.Signature, p.sig[:]) < 0
}

func (l *Ledger) pairOf(a Attestation, h uint32) pair {
	p := pair{seq: a.Seq, issued: a.IssuedAt.UnixMilli(), holder: h,
		leaves: uint32(a.Leaves), target: uint8(a.Target), flags: a.flags()}
	copy(p.sig[:], a.Signature)
	return p
}

func (l *Ledger) proofRecs(verifier uint32, proofs []Proof) []proofRec {
	out := make([]proofRec, 0, len(proofs))
	for _, pr := range proofs {
		peer := l.peers.id(string(pr.Peer))
		out = append(out, proofRec{packed: packProof(pr.At.UnixMilli(), false, pr.Result), verifier: verifier, peer: peer})
	}
	return out
}

func (e *objectEntry) find(holder uint32) int {
	if e == nil {
		return -1
	}
	for i := range e.pairs {
		if e.pairs[i].holder == holder {
			return i
		}
	}
	return -1
}

// setProofs replaces the signed proofs of verifier, keeping local records.
func (e *objectEntry) setProofs(verifier uint32, recs []proofRec) {
	e.proofs = slices.DeleteFunc(e.proofs, func(p proofRec) bool {
		return p.verifier == verifier && !p.local()
	})
	e.proofs = appendExact(e.proofs, recs...)
}

// appendExact appends without spare capacity: objects have few holders
// and proofs, and append's doubling would waste a third of the ledger.
func appendExact[T any](s []T, items ...T) []T {
	if len(items) == 0 {
		return s
	}
	if cap(s)-len(s) >= len(items) {
		return append(s, items...)
	}
	out := make([]T, len(s), len(s)+len(items))
	copy(out, s)
	return append(out, items...)
}

func (l *Ledger) stat(p pair) {
	s := l.statOf(p.holder)
	s.maxSeq = max(s.maxSeq, p.seq)
	s.count++
}

func (l *Ledger) unstat(p pair) {
	l.statOf(p.holder).count--
}

func (l *Ledger) statOf(h uint32) *holderStat {
	for int(h) >= len(l.stats) {
		l.stats = append(l.stats, holderStat{})
	}
	return &l.stats[h]
}

// attestedBy yields the objects peer has attested (held or not).
func (l *Ledger) attestedBy(peer PeerID) iter.Seq[*objectEntry] {
	return func(yield func(*objectEntry) bool) {
		h, ok := l.peers.lookup(string(peer))
		if !ok || int(h) >= len(l.heldBy) {
			return
		}
		for _, n := range l.heldBy[h] {
			if !yield(l.objects.at(n)) {
				return
			}
		}
	}
}

// Get returns the recorded attestation of holder for obj.
func (l *Ledger) Get(obj ObjectID, holder PeerID) (Attestation, bool) {
	e := l.objects.get(obj)
	h, ok := l.peers.lookup(string(holder))
	if !ok || e == nil {
		return Attestation{}, false
	}
	i := e.find(h)
	if i < 0 {
		return Attestation{}, false
	}
	return l.attestation(obj, e, e.pairs[i]), true
}

// attestation rebuilds the signed attestation stored in p.
func (l *Ledger) attestation(obj ObjectID, e *objectEntry, p pair) Attestation {
	a := Attestation{
		Object: obj, Holder: PeerID(l.peers.name(p.holder)), Seq: p.seq,
		IssuedAt: time.UnixMilli(p.issued).UTC(), Held: p.flags&flagHeld != 0,
		Pinned: p.flags&flagPinned != 0, Target: int(p.target), Leaves: int(p.leaves),
		Signature: slices.Clone(p.sig[:]),
	}
	if e.policy != nil {
		a.Policy = &e.policy.Policy
	}
	for _, pr := range e.proofs {
		if pr.verifier == p.holder && !pr.local() {
			a.Proofs = append(a.Proofs, Proof{Peer: PeerID(l.peers.name(pr.peer)), At: time.UnixMilli(pr.at()).UTC(), Result: pr.result()})
		}
	}
	return a
}

// All yields every recorded attestation, for persistence; feed them back
// through Core.Receive or Ledger.Apply to restore.
func (l *Ledger) All() iter.Seq[Attestation] {
	return func(yield func(Attestation) bool) {
		for e := range l.objects.all() {
			for _, p := range e.pairs {
				if !yield(l.attestation(e.id, e, p)) {
					return
				}
			}
		}
	}
}

// Merge applies every attestation and policy of other (whose policies
// were verified when they entered it). Merging is commutative,
// associative and idempotent. Local challenge records are not copied.
func (l *Ledger) Merge(other *Ledger) {
	for a := range other.All() {
		l.Apply(a)
	}
	for e := range other.objects.all() {
		if e.policy != nil {
			l.SetPolicy(e.policy.Policy, e.policy.owner)
		}
	}
}

// SetPolicy records a verified policy and the owner key it was verified
// against, if it wins over the recorded one, and reports whether it did.
// The caller verifies: Core.Receive and Core.SetPolicy do.
func (l *Ledger) SetPolicy(p Policy, owner ed25519.PublicKey) bool {
	e := l.objects.get(p.Object)
	if e != nil && e.policy != nil && !p.supersedes(&e.policy.Policy) {
		return false
	}
	if e == nil {
		_, e = l.objects.add(p.Object)
	}
	e.policy = &ownedPolicy{Policy: p, owner: owner}
	return true
}

// Policy returns the recorded policy of obj and its owner key.
func (l *Ledger) Policy(obj ObjectID) (Policy, ed25519.PublicKey, bool) {
	e := l.objects.get(obj)
	if e == nil || e.policy == nil {
		return Policy{}, nil, false
	}
	return e.policy.Policy, e.policy.owner, true
}

// count returns the number of objects holder has a record of.
func (l *Ledger) count(holder PeerID) int {
	h, ok := l.peers.lookup(string(holder))
	if !ok || int(h) >= len(l.stats) {
		return 0
	}
	return int(l.stats[h].count)
}

// Len returns the number of (object, holder) pairs.
func (l *Ledger) Len() int {
	n := 0
	for _, s := range l.stats {
		n += int(s.count)
	}
	return n
}

// RecordCheck stores this node's latest challenge outcome for peer's copy
// of obj (the challenger-side record), replacing the previous one.
func (l *Ledger) RecordCheck(obj ObjectID, self, peer PeerID, at time.Time, r Result) {
	_, e := l.objects.add(obj)
	v, p := l.peers.id(string(self)), l.peers.id(string(peer))
	rec := proofRec{packed: packProof(at.UnixMilli(), true, r), verifier: v, peer: p}
	for i, pr := range e.proofs {
		if pr.local() && pr.verifier == v && pr.peer == p {
			e.proofs[i] = rec
			return
		}
	}
	e.proofs = appendExact(e.proofs, rec)
}

// Check returns this node's latest challenge record for peer's copy.
func (l *Ledger) Check(obj ObjectID, self, peer PeerID) (at time.Time, r Result, ok bool) {
	e := l.objects.get(obj)
	v, ok1 := l.peers.lookup(string(self))
	p, ok2 := l.peers.lookup(string(peer))
	if e == nil || !ok1 || !ok2 {
		return time.Time{}, ResultNone, false
	}
	for _, pr := range e.proofs {
		if pr.local() && pr.verifier == v && pr.peer == p {
			return time.UnixMilli(pr.at()).UTC(), pr.result(), true
		}
	}
	return time.Time{}, ResultNone, false
}

// interner maps strings to dense small integers and back.
type interner struct {
	ids   map[string]uint32
	names []string
}

func newInterner() interner { return interner{ids: map[string]uint32{}} }

func (in *interner) id(s string) uint32 {
	if i, ok := in.ids[s]; ok {
		return i
	}
	i := uint32(len(in.names))
	in.ids[s] = i
	in.names = append(in.names, s)
	return i
}

func (in *interner) lookup(s string) (uint32, bool) {
	i, ok := in.ids[s]
	return i, ok
}

func (in *interner) name(i uint32) string { return in.names[i] }

func sortedByPeer(ps []Proof) {
	slices.SortFunc(ps, func(a, b Proof) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
}
