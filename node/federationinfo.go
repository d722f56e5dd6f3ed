package node

import (
	"sort"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
)

// FederationInfo is what `cairn federation show` prints.
type FederationInfo struct {
	ID           string              `json:"federation_id"`
	Name         string              `json:"name"`
	Version      uint64              `json:"roster_version"`
	HasAuthority bool                `json:"holds_authority_key"`
	Members      []MemberInfo        `json:"members"`
	Revoked      []RevokedInfo       `json:"revoked,omitempty"`
	ByOperator   map[string][]string `json:"by_operator"`
	ByRegion     map[string][]string `json:"by_region"`
}

// RevokedInfo is one revocation.
type RevokedInfo struct {
	PeerID string    `json:"peer_id"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// FederationShow describes the node's federation.
func (n *Node) FederationShow() (FederationInfo, error) {
	r, hasKey := n.fed.Roster(), n.fed.Authority() != nil
	if r == nil {
		return FederationInfo{}, ErrNoFederation
	}
	info := FederationInfo{ID: r.FederationID, Name: r.Name, Version: r.Version, HasAuthority: hasKey,
		Members: n.Members(), ByOperator: map[string][]string{}, ByRegion: map[string][]string{}}
	for _, m := range info.Members {
		info.ByOperator[m.Operator] = append(info.ByOperator[m.Operator], m.PeerID)
		info.ByRegion[m.Region] = append(info.ByRegion[m.Region], m.PeerID)
	}
	for _, v := range r.Revoked {
		info.Revoked = append(info.Revoked, RevokedInfo{PeerID: v.PeerID, At: v.At, Reason: v.Reason})
	}
	return info, nil
}

// MemberInfo is one line of `cairn peers`.
type MemberInfo struct {
	PeerID    string     `json:"peer_id"`
	Operator  string     `json:"operator"`
	Region    string     `json:"region"`
	Self      bool       `json:"self"`
	Connected bool       `json:"connected"`
	LatencyMS float64    `json:"latency_ms,omitempty"`
	LastSeen  *time.Time `json:"last_seen"`
	Addrs     []string   `json:"addrs,omitempty"`
	// Expires is when the membership ends, unless renewed; nil: never.
	Expires *time.Time `json:"expires,omitempty"`
}

// Members lists the federation's current members with what this node
// knows of each: connected or not, latency, when last seen.
func (n *Node) Members() []MemberInfo {
	r := n.currentRoster()
	if r == nil {
		return nil
	}
	now := time.Now()
	var out []MemberInfo
	for _, m := range r.CurrentMembers(now) {
		out = append(out, n.memberInfo(m, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PeerID < out[j].PeerID })
	return out
}

func (n *Node) memberInfo(m federation.Member, now time.Time) MemberInfo {
	info := MemberInfo{PeerID: m.PeerID, Operator: m.Operator, Region: m.Region}
	if !m.Expires.IsZero() {
		info.Expires = &m.Expires
	}
	id, err := peer.Decode(m.PeerID)
	if err != nil {
		return info
	}
	if id == n.net.host.ID() {
		info.Self, info.Connected, info.LastSeen = true, true, &now
		return info
	}
	for _, c := range n.net.host.Network().ConnsToPeer(id) {
		info.Connected = true
		info.Addrs = append(info.Addrs, c.RemoteMultiaddr().String())
	}
	if lat := n.net.host.Peerstore().LatencyEWMA(id); lat > 0 {
		info.LatencyMS = float64(lat.Microseconds()) / 1000
	}
	if info.Connected {
		info.LastSeen = &now
	} else if seen, ok := n.lastSeen(id); ok {
		info.LastSeen = &seen
	}
	return info
}
