package replication

import (
	"slices"
	"time"
)

// What this node says of its own copies: the attestations it signs, with
// the target and proofs they carry, and whom each is addressed to.

// publish signs a fresh attestation for every local object that changed
// and addresses it to the object's whole audience.
func (c *Core) publish(now time.Time) {
	for _, obj := range sortedKeys(c.toAttest) {
		lo := c.local[obj]
		if lo == nil {
			continue
		}
		v := c.view(obj, now)
		v.candidates = c.repairCandidates(obj, v, now)
		to := c.audience(obj, v, lo)
		if a, ok := c.attest(obj, now); ok {
			if !slices.Equal(lo.told, to) {
				c.localGen++ // the statement's audience walk reads told
			}
			lo.told = to
			c.out.Publish = append(c.out.Publish, Outgoing{Attestation: a, To: to})
		}
	}
	c.toAttest = drained(c.toAttest)
}

// attest builds, signs and records this node's attestation for obj.
func (c *Core) attest(obj ObjectID, now time.Time) (Attestation, bool) {
	lo := c.local[obj]
	if lo == nil {
		return Attestation{}, false
	}
	c.lastSeq = max(c.lastSeq+1, uint64(now.UnixMilli()))
	a := Attestation{Object: obj, Holder: c.self, Seq: c.lastSeq, IssuedAt: now, Held: lo.held, Pinned: lo.pinned,
		Target: c.targetOf(obj, lo), Leaves: max(lo.leaves, 1), Proofs: c.localProofs(obj)}
	if p, _, ok := c.ledger.Policy(obj); ok {
		a.Policy = &p
	}
	a.IssuedAt = time.UnixMilli(now.UnixMilli()).UTC()
	a.Sign(c.cfg.Key)
	c.ledger.Apply(a)
	lo.published = a.Proofs
	if !lo.held && !lo.fetching {
		delete(c.local, obj)
		c.localChurn++
	}
	return a, true
}

// targetOf is how many copies obj wants: the owner's verified policy, or
// else what this node asked for when it added obj, or else DefaultTarget;
// at most MaxTarget. No holder's word enters it.
func (c *Core) targetOf(obj ObjectID, lo *localObject) int {
	if e := c.ledger.objects.get(obj); e != nil && e.policy != nil {
		return min(e.policy.Target, c.cfg.MaxTarget)
	}
	if lo != nil && lo.target > 0 {
		return min(lo.target, c.cfg.MaxTarget)
	}
	return c.cfg.DefaultTarget
}

// localProofs returns this node's challenge records for obj, sorted.
func (c *Core) localProofs(obj ObjectID) []Proof {
	e := c.ledger.objects.get(obj)
	self, ok := c.ledger.peers.lookup(string(c.self))
	if e == nil || !ok {
		return nil
	}
	var out []Proof
	for _, pr := range e.proofs {
		if pr.local() && pr.verifier == self {
			out = append(out, Proof{Peer: PeerID(c.ledger.peers.name(pr.peer)), At: msTime(pr.at()), Result: pr.result()})
		}
	}
	sortedByPeer(out)
	return out
}
