package replication

import (
	"slices"
	"strings"
	"time"
)

// The roster as the core sees it: who is a member, of which operator and
// region, and what a change of it marks for a fresh look.

// SetMembers replaces the verified roster. Peers that were members and
// are missing now count as revoked: their records stop counting at once.
func (c *Core) SetMembers(members []Member, now time.Time) {
	hadOthers := c.otherMembers() > 0
	next := make(map[PeerID]Member, len(members))
	for _, m := range members {
		next[m.Peer] = m
	}
	changed := map[PeerID]bool{}
	for p, old := range c.members {
		if m, ok := next[p]; !ok || m.Operator != old.Operator || m.Region != old.Region {
			changed[p] = true
		}
		if _, ok := next[p]; !ok {
			c.revoked[p] = true
		}
	}
	for p := range next {
		if _, ok := c.members[p]; !ok {
			changed[p] = true
			delete(c.revoked, p)
		}
	}
	c.members = next
	c.rosterGen++
	c.roster = slices.SortedFunc(func(yield func(Member) bool) {
		for _, m := range next {
			if !yield(m) {
				return
			}
		}
	}, func(a, b Member) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
	c.markHoldersDirty(changed)
	c.isolated = c.isolated && c.cutOff() // a new member is not one lost
	c.joined(hadOthers, now)
}

// markHoldersDirty queues every object that changed peers hold or vouch for.
func (c *Core) markHoldersDirty(changed map[PeerID]bool) {
	if len(changed) == 0 {
		return
	}
	ids := map[uint32]bool{}
	for p := range changed {
		if id, ok := c.ledger.peers.lookup(string(p)); ok {
			ids[id] = true
		}
	}
	for e := range c.ledger.objects.all() {
		for _, p := range e.pairs {
			if ids[p.holder] {
				c.dirty[e.id] = true
			}
		}
	}
	for obj := range c.local {
		c.dirty[obj] = true
	}
}
