package federation

import (
	"cmp"
	"slices"
	"time"

	"github.com/cairn-fed/cairn/replication"
)

// Member returns the listed entry for peerID, whether or not it has
// expired. Revoked peers are never listed.
func (r Roster) Member(peerID string) (Member, bool) {
	i, found := slices.BinarySearchFunc(r.Members, peerID, func(m Member, id string) int {
		return cmp.Compare(m.PeerID, id)
	})
	if !found {
		return Member{}, false
	}
	return r.Members[i], true
}

// IsRevoked reports whether peerID was revoked (and not re-admitted).
func (r Roster) IsRevoked(peerID string) bool {
	_, found := slices.BinarySearchFunc(r.Revoked, peerID, func(v Revocation, id string) int {
		return cmp.Compare(v.PeerID, id)
	})
	return found
}

// IsMember reports whether peerID is a current member at now: listed, not
// revoked, not expired. This is the connection gate.
func (r Roster) IsMember(peerID string, now time.Time) bool {
	m, ok := r.Member(peerID)
	return ok && m.ActiveAt(now) && !r.IsRevoked(peerID)
}

// CurrentMembers returns the members that are current at now, sorted by
// peer ID.
func (r Roster) CurrentMembers(now time.Time) []Member {
	var out []Member
	for _, m := range r.Members {
		if m.ActiveAt(now) && !r.IsRevoked(m.PeerID) {
			out = append(out, m)
		}
	}
	return out
}

// NextExpiry returns the earliest expiry after now among listed members,
// so the node knows when to recompute its connection gate.
func (r Roster) NextExpiry(now time.Time) (time.Time, bool) {
	var next time.Time
	for _, m := range r.Members {
		if m.Expires.After(now) && (next.IsZero() || m.Expires.Before(next)) {
			next = m.Expires
		}
	}
	return next, !next.IsZero()
}

// Operators returns the distinct operators of all listed members, sorted.
func (r Roster) Operators() []string {
	return distinct(r.Members, func(m Member) string { return m.Operator })
}

// Regions returns the distinct regions of all listed members, sorted.
func (r Roster) Regions() []string {
	return distinct(r.Members, func(m Member) string { return m.Region })
}

// ByOperator groups all listed members by operator; each group is sorted
// by peer ID.
func (r Roster) ByOperator() map[string][]Member {
	out := make(map[string][]Member)
	for _, m := range r.Members {
		out[m.Operator] = append(out[m.Operator], m)
	}
	return out
}

// ReplicationMembers returns the current members at now in the form the
// replication core takes, sorted by peer ID. FreeBytes is left 0
// (unknown); the node fills it in from what members announce.
func (r Roster) ReplicationMembers(now time.Time) []replication.Member {
	current := r.CurrentMembers(now)
	out := make([]replication.Member, 0, len(current))
	for _, m := range current {
		out = append(out, replication.Member{
			Peer:      replication.PeerID(m.PeerID),
			Operator:  m.Operator,
			Region:    m.Region,
			PublicKey: m.PublicKey,
		})
	}
	return out
}

func distinct(members []Member, field func(Member) string) []string {
	var out []string
	for _, m := range members {
		out = append(out, field(m))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
