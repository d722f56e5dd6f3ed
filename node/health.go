package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/replication"
)

// Health answers cairn health from this node's own state, without asking
// other nodes: members online, storage, this node's challenges and
// repairs since it started, deletions waiting for acknowledgements, the
// peers that need an operator's attention and the roster version.
func (n *Node) Health(ctx context.Context) (netstat.Health, error) {
	now := time.Now()
	u, err := n.disk.blocks.Usage()
	if err != nil {
		return netstat.Health{}, fmt.Errorf("health: %w", err)
	}
	h := netstat.Health{Node: n.net.host.ID().String(), AsOf: now, RepairQueue: n.repairQueue(),
		StorageUsed: uint64(max(u.Bytes, 0)), StorageFree: u.FreeBytes}
	for _, m := range n.Members() {
		h.MembersTotal++
		h.MembersOnline += btoi(m.Connected)
	}
	snap := n.obs.Stats()
	for _, p := range snap.Challenges {
		h.ChallengesPassed += p.Passed
		h.ChallengesFailed += p.Failed
	}
	th := n.del.Health(now)
	h.TombstonesPending = th.Pending
	roster := map[replication.PeerID]replication.Member{}
	if r := n.currentRoster(); r != nil {
		h.RosterVersion = r.Version
		for _, m := range r.ReplicationMembers(now) {
			roster[m.Peer] = m
		}
	}
	if d, ok, err := n.LastDrill(ctx); err != nil {
		n.logger.Warn("health: the latest drill", "err", err)
	} else if ok {
		h.LastDrill = d.summary()
	}
	h.Flagged = append(viewer.FlagFailing(snap.Challenges, now), viewer.FlagLaggards(th.Laggards, roster, now)...)
	h.Flagged = append(h.Flagged, viewer.FlagOverBound(n.overBoundPeers(roster), now)...)
	slices.SortStableFunc(h.Flagged, func(a, b netstat.FlaggedPeer) int { return strings.Compare(a.PeerID, b.PeerID) })
	return h, nil
}

// overBoundPeers lists the members whose input was refused for being over
// a bound, with their operators and regions from roster.
func (n *Node) overBoundPeers(roster map[replication.PeerID]replication.Member) []netstat.PeerRefusals {
	var out []netstat.PeerRefusals
	for _, o := range n.rejected.overBounds() {
		m := roster[replication.PeerID(o.Peer)]
		out = append(out, netstat.PeerRefusals{Peer: replication.PeerID(o.Peer), Operator: m.Operator, Region: m.Region,
			Refused: o.Refused, Since: o.Since, Last: o.Last})
	}
	return out
}
