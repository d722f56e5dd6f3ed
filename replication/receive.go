package replication

import (
	"fmt"
	"time"
)

// Inputs about other holders: attestations (who may say what, within
// which bounds, and the owner's policy each one carries) and a holder
// becoming unreachable.

// Receive verifies an attestation from delivery or anti-entropy and
// merges it into the ledger, with the owner's policy it carries. It
// returns one of ErrUnknownMember, ErrRevokedMember, ErrFutureIssuedAt,
// ErrReplay, ErrBadSignature, ErrOverBound, ErrNotBound,
// ErrNotOwnerSigned or ErrMalformed when it rejects it. The bounds apply
// to the holder, after its signature is checked: nobody else can use up a
// member's share.
func (c *Core) Receive(a Attestation, now time.Time) error {
	return c.receive(a, now, true)
}

// ReceiveStored is Receive for attestations read back from this node's
// own storage at start: they were accepted within the bounds once, so
// only the per-second bound is skipped.
func (c *Core) ReceiveStored(a Attestation, now time.Time) error {
	return c.receive(a, now, false)
}

func (c *Core) receive(a Attestation, now time.Time, limitRate bool) error {
	if _, err := a.MarshalBinary(); err != nil {
		return err
	}
	m, err := c.member("attestation", a.Holder)
	switch {
	case err != nil:
		return err
	case a.IssuedAt.After(now.Add(c.cfg.MaxClockSkew)):
		return fmt.Errorf("attestation from %s issued at %s: %w", a.Holder, a.IssuedAt, ErrFutureIssuedAt)
	}
	old, known := c.ledger.Get(a.Object, a.Holder)
	if known && old.Seq >= a.Seq {
		return fmt.Errorf("attestation from %s seq %d, have %d: %w", a.Holder, a.Seq, old.Seq, ErrReplay)
	}
	if err := a.Verify(m.PublicKey); err != nil {
		return fmt.Errorf("attestation from %s: %w", a.Holder, err)
	}
	if err := c.withinBounds(a, known, limitRate, now); err != nil {
		return err
	}
	if err := c.receivePolicy(a.Policy); err != nil {
		return fmt.Errorf("attestation from %s: %w", a.Holder, err)
	}
	if a.Holder == c.self {
		c.restoreOwn(a)
	}
	c.noteSeenSinceJoin(a)
	if c.ledger.Apply(a) {
		c.dirty[a.Object] = true
	}
	return nil
}

// member returns peer's roster entry, or ErrRevokedMember or
// ErrUnknownMember naming what peer sent.
func (c *Core) member(what string, peer PeerID) (Member, error) {
	m, ok := c.members[peer]
	switch {
	case !ok && c.revoked[peer]:
		return m, fmt.Errorf("%s from %s: %w", what, peer, ErrRevokedMember)
	case !ok:
		return m, fmt.Errorf("%s from %s: %w", what, peer, ErrUnknownMember)
	}
	return m, nil
}

// withinBounds applies the per-member bounds to a signed attestation of
// its holder: attestations per second, and records of objects this node
// does not hold (known: the ledger has a record of this holder already).
func (c *Core) withinBounds(a Attestation, known, limitRate bool, now time.Time) error {
	if a.Holder == c.self {
		return nil
	}
	if limitRate && !c.attests.allow(a.Holder, now, c.cfg.AttestRate, c.attestBurst(a.Holder), 1) {
		return fmt.Errorf("attestation from %s: %w: more than %g per second", a.Holder, ErrOverBound, c.cfg.AttestRate)
	}
	if !known && !c.Holds(a.Object) && c.ledger.count(a.Holder) >= c.cfg.MaxEntriesPerMember {
		return fmt.Errorf("attestation from %s for %s: %w: %d records of objects this node does not hold", a.Holder, a.Object, ErrOverBound, c.cfg.MaxEntriesPerMember)
	}
	return nil
}

// attestBurst is how many attestations one member may send at once: the
// configured burst, or as many as it has records here.
func (c *Core) attestBurst(holder PeerID) float64 {
	return float64(max(c.cfg.AttestBurst, c.ledger.count(holder)))
}

// receivePolicy verifies a policy relayed with an attestation and records
// it if it is the newest. A relayed policy that does not verify rejects
// the attestation that carried it: an honest holder relays only policies
// it verified.
func (c *Core) receivePolicy(p *Policy) error {
	if p == nil {
		return nil
	}
	if cur, _, ok := c.ledger.Policy(p.Object); ok && cur.equal(p) {
		return nil // the one recorded, verified when it arrived
	}
	owner, err := p.Verify(c.cfg.BindOwner)
	if err != nil {
		return err
	}
	c.applyPolicy(*p, owner)
	return nil
}

// SetPolicy records a policy this node's owner signed (or one read back
// from storage), after verifying it as any relayed policy is. The next
// Tick attests local copies again so the policy travels on.
func (c *Core) SetPolicy(p Policy, now time.Time) error {
	owner, err := p.Verify(c.cfg.BindOwner)
	if err != nil {
		return err
	}
	c.applyPolicy(p, owner)
	return nil
}

func (c *Core) applyPolicy(p Policy, owner []byte) {
	if !c.ledger.SetPolicy(p, owner) {
		return
	}
	c.dirty[p.Object] = true
	if lo := c.local[p.Object]; lo != nil && lo.held {
		c.toAttest[p.Object] = true
	}
}

// Policy returns the newest verified policy of obj and the owner key its
// ID commits to.
func (c *Core) Policy(obj ObjectID) (Policy, []byte, bool) { return c.ledger.Policy(obj) }

// restoreOwn takes back this node's Seq and challenge records from one of
// its own attestations read back from storage.
func (c *Core) restoreOwn(a Attestation) {
	c.lastSeq = max(c.lastSeq, a.Seq)
	for _, p := range a.Proofs {
		if _, _, ok := c.ledger.Check(a.Object, c.self, p.Peer); !ok {
			c.ledger.RecordCheck(a.Object, c.self, p.Peer, p.At, p.Result)
		}
	}
}
