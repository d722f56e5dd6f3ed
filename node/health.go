package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairn-fed/cairn/netstat"
	"github.com/cairn-fed/cairn/node/blockstore"
	"github.com/cairn-fed/cairn/replication"
	"github.com/cairn-fed/cairn/tombstone"
)

// Health answers cairn health from this node's own state, without asking
// other nodes: members online, storage, this node's challenges and
// repairs since it started, deletions waiting for acknowledgements, the
// peers that need an operator's attention and the roster version.
func (n *Node) Health(ctx context.Context) (netstat.Health, error) {
	now := time.Now()
	u, err := n.storageUsage(ctx)
	if err != nil {
		return netstat.Health{}, fmt.Errorf("health: %w", err)
	}
	h := netstat.Health{Node: n.host.ID().String(), AsOf: now, RepairQueue: n.repairQueue(),
		StorageUsed: uint64(max(u.Bytes, 0)), StorageFree: u.FreeBytes}
	for _, m := range n.Members() {
		h.MembersTotal++
		h.MembersOnline += btoi(m.Connected)
	}
	snap := n.obs.stats.snapshot()
	for _, p := range snap.challenges {
		h.ChallengesPassed += p.Passed
		h.ChallengesFailed += p.Failed
	}
	th := n.obs.stats.tombstoneHealth(now)
	h.TombstonesPending = th.Pending
	roster := map[replication.PeerID]replication.Member{}
	if r := n.currentRoster(); r != nil {
		h.RosterVersion = r.Version
		for _, m := range r.ReplicationMembers(now) {
			roster[m.Peer] = m
		}
	}
	h.Flagged = append(viewer.FlagFailing(snap.challenges, now), viewer.FlagLaggards(th.Laggards, roster, now)...)
	h.Flagged = append(h.Flagged, viewer.FlagOverBound(n.overBoundPeers(roster), now)...)
	slices.SortStableFunc(h.Flagged, func(a, b netstat.FlaggedPeer) int { return strings.Compare(a.PeerID, b.PeerID) })
	return h, nil
}

// tombstoneHealth is the deletion side of cairn health and /metrics, as
// the tombstone wiring reports it.
type tombstoneHealth struct {
	// Pending counts deletions that some holder has not acknowledged.
	Pending int
	// Lag is how long the oldest of them has been waiting: the tombstone
	// propagation lag; 0 when none is pending.
	Lag time.Duration
	// Laggards are holders past tombstone.Config.AckTimeout; health flags
	// them as ignoring tombstones.
	Laggards []tombstone.Laggard
}

// setTombstoneHealth installs the function that cairn health and /metrics
// call, at query time and with none of the node's locks held, to learn how
// deletions propagate. Until it is set they report nothing pending and
// no lag. The tombstone wiring calls it once when it starts.
func (n *Node) setTombstoneHealth(fn func(now time.Time) tombstoneHealth) {
	n.obs.stats.mu.Lock()
	defer n.obs.stats.mu.Unlock()
	n.obs.stats.tombstones = fn
}

func (s *stats) tombstoneHealth(now time.Time) tombstoneHealth {
	s.mu.Lock()
	fn := s.tombstones
	s.mu.Unlock()
	if fn == nil {
		return tombstoneHealth{}
	}
	return fn(now)
}

// usageCache keeps the block store's usage for a while: measuring it
// walks every block file, so it is redone only when the last measurement
// is older than ten times what it took (and at least usageMinAge).
type usageCache struct {
	mu sync.Mutex // held while measuring, so scrapes do not pile up walks
	// Guarded by mu.
	at    time.Time
	took  time.Duration
	usage blockstore.Usage
}

const usageMinAge = 2 * time.Second

// storageUsage returns the block store's usage, measured recently.
func (n *Node) storageUsage(ctx context.Context) (blockstore.Usage, error) {
	c := &n.obs.usage
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < max(usageMinAge, 10*c.took) {
		return c.usage, nil
	}
	start := time.Now()
	u, err := n.blocks.Usage(ctx)
	if err != nil {
		return blockstore.Usage{}, err
	}
	c.at, c.took, c.usage = time.Now(), time.Since(start), u
	return u, nil
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
