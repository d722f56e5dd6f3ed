package node

import (
	"context"
	"encoding/json"
	mrand "math/rand/v2"
	"slices"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/multiformats/go-multiaddr"

	"github.com/cairn-fed/cairn/node/membership"
)

// A federation is a small, known set of peers, so each node keeps itself
// connected to every current member, as Syncthing does with its devices:
// after a restart, a network partition or a member's outage, connections
// come back by themselves, and with them gossip, anti-entropy and repair.
// Members' dialable addresses are remembered on disk, so a node that
// restarts alone can find the others again. In a federation larger than
// swarm.low_water, a node dials members only up to that many connections,
// picked at random: the connection manager would trim any more, and gossip
// reaches every member through the others; fetches and challenges open the
// connections they need.

const (
	// memberCheckInterval is how often missing members are looked for.
	memberCheckInterval = 2 * time.Second
	// memberDialTimeout bounds one attempt to reach a member.
	memberDialTimeout = 10 * time.Second
	// memberMaxBackoff caps the wait between attempts at one member that
	// stays unreachable.
	memberMaxBackoff  = time.Minute
	memberAddrsPrefix = "/members/addrs/"
	// antiEntropyInterval is how often a node also syncs its ledger and
	// tombstones with one random connected peer: gossip may drop messages
	// under load, and nothing else would resend them.
	antiEntropyInterval = 30 * time.Second
)

// keepMembersConnected dials every current member that is not connected,
// with a per-member backoff, and records the addresses of those that are,
// until Close.
func (n *Node) keepMembersConnected(ctx context.Context) {
	n.loadMemberAddrs(ctx)
	backoff := &membership.DialBackoff{Min: memberCheckInterval, Max: memberMaxBackoff}
	t := time.NewTicker(memberCheckInterval)
	defer t.Stop()
	var lastSaved, lastSync time.Time
	lastSavedCount := -1
	saved := map[peer.ID]string{} // the addresses last written, by member
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(lastSync) >= antiEntropyInterval {
				if peers := n.net.host.Network().Peers(); len(peers) > 0 {
					p := peers[mrand.IntN(len(peers))]
					n.spawn(func(ctx context.Context) { n.antiEntropy(ctx, p) })
				}
				lastSync = now
			}
			missing := n.missingMembers(now)
			n.dialMissingMembers(ctx, backoff, missing, now)
			// Save when members came or went, and once a minute for
			// addresses that changed under an open connection.
			if c := n.connectedMembers(); c != lastSavedCount || now.Sub(lastSaved) >= time.Minute {
				n.saveMemberAddrs(ctx, saved)
				lastSaved, lastSavedCount = now, c
			}
		}
	}
}

// missingMembers returns the current members, other than this node, with
// no open connection.
func (n *Node) missingMembers(now time.Time) []peer.ID {
	r, ids := n.fed.RosterPeers()
	if r == nil {
		return nil
	}
	var out []peer.ID
	for i, m := range r.Members {
		id := ids[i]
		if id == "" || id == n.net.host.ID() || !m.ActiveAt(now) || r.IsRevoked(m.PeerID) ||
			n.net.host.Network().Connectedness(id) == network.Connected {
			continue
		}
		out = append(out, id)
	}
	return out
}

func (n *Node) dialMissingMembers(ctx context.Context, backoff *membership.DialBackoff, missing []peer.ID, now time.Time) {
	due := func(p peer.ID) bool { return backoff.Due(p, now) }
	for _, p := range membership.MembersToDial(missing, len(n.net.host.Network().Peers()), n.cfg.Swarm.LowWater, due) {
		backoff.Failed(p, now) // until it succeeds: no second attempt while one runs
		n.spawn(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, memberDialTimeout)
			defer cancel()
			info := peer.AddrInfo{ID: p, Addrs: n.net.host.Peerstore().Addrs(p)}
			if len(info.Addrs) == 0 {
				found, err := n.net.dht.FindPeer(ctx, p) // asks the members that are connected
				if err != nil {
					return
				}
				info = found
			}
			if err := n.net.host.Connect(ctx, info); err != nil {
				n.logger.Debug("member unreachable", "peer", p, "err", err)
				return
			}
			backoff.Succeeded(p)
			n.logger.Info("reconnected to a member", "peer", p)
		})
	}
}

// connectedMembers counts the members, other than this node, with an open
// connection.
func (n *Node) connectedMembers() int {
	c := 0
	n.forConnectedMembers(func(peer.ID, string) { c++ })
	return c
}

// forConnectedMembers calls fn with every listed member, other than this
// node, with an open connection.
func (n *Node) forConnectedMembers(fn func(id peer.ID, peerID string)) {
	r, ids := n.fed.RosterPeers()
	if r == nil {
		return
	}
	for i, m := range r.Members {
		if id := ids[i]; id != "" && id != n.net.host.ID() && n.net.host.Network().Connectedness(id) == network.Connected {
			fn(id, m.PeerID)
		}
	}
}

// saveMemberAddrs records the listen addresses of connected members. With
// saved, it writes only the addresses that differ from what saved holds,
// and records there what it wrote; with nil, it writes them all.
func (n *Node) saveMemberAddrs(ctx context.Context, saved map[peer.ID]string) {
	n.forConnectedMembers(func(id peer.ID, peerID string) {
		var addrs []string
		for _, a := range n.net.host.Peerstore().Addrs(id) {
			addrs = append(addrs, a.String())
		}
		if len(addrs) == 0 {
			return
		}
		slices.Sort(addrs) // the peerstore's order varies; the bytes compared must not
		data, err := json.Marshal(addrs)
		if err != nil || (saved != nil && saved[id] == string(data)) {
			return
		}
		if err := n.disk.meta.Put(ctx, datastore.NewKey(memberAddrsPrefix+peerID), data); err != nil {
			n.logger.Warn("remember member addresses", "peer", id, "err", err)
			return
		}
		if saved != nil {
			saved[id] = string(data)
		}
	})
}

// loadMemberAddrs puts the remembered addresses of members back into the
// peerstore, so the first round of dials can use them.
func (n *Node) loadMemberAddrs(ctx context.Context) {
	res, err := n.disk.meta.Query(ctx, query.Query{Prefix: memberAddrsPrefix})
	if err != nil {
		return
	}
	defer res.Close()
	for e := range res.Next() {
		if e.Error != nil {
			return
		}
		id, err := peer.Decode(e.Key[len(memberAddrsPrefix):])
		var addrs []string
		if err != nil || json.Unmarshal(e.Value, &addrs) != nil {
			continue
		}
		var mas []multiaddr.Multiaddr
		for _, a := range addrs {
			if ma, err := multiaddr.NewMultiaddr(a); err == nil {
				mas = append(mas, ma)
			}
		}
		n.net.host.Peerstore().AddAddrs(id, mas, peerstore.RecentlyConnectedAddrTTL)
	}
}
