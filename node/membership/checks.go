package membership

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairn-fed/cairn/federation"
)

// checkMemberKeys makes sure every member's peer ID is the one its listed
// public key gives: the gater admits by peer ID, while attestations are
// checked with the listed key.
func checkMemberKeys(r federation.Roster) error {
	for _, m := range r.Members {
		pub, err := crypto.UnmarshalEd25519PublicKey(m.PublicKey)
		if err != nil {
			return fmt.Errorf("%w: member %s: %v", federation.ErrInvalid, m.PeerID, err)
		}
		id, err := peer.IDFromPublicKey(pub)
		if err != nil || id.String() != m.PeerID {
			return fmt.Errorf("%w: member %s is listed with the public key of another peer", federation.ErrInvalid, m.PeerID)
		}
	}
	return nil
}

// MemberFor describes peer id as a roster member admitted at now. Its
// peer ID must embed its ed25519 public key.
func MemberFor(id peer.ID, operator, region string, now time.Time) (federation.Member, error) {
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return federation.Member{}, fmt.Errorf("peer ID %s does not embed its public key: %w", id, err)
	}
	if pub.Type() != crypto.Ed25519 {
		return federation.Member{}, fmt.Errorf("peer %s has a %s key; members need ed25519", id, pub.Type())
	}
	raw, err := pub.Raw()
	if err != nil {
		return federation.Member{}, fmt.Errorf("public key of peer %s: %w", id, err)
	}
	return federation.Member{PeerID: id.String(), PublicKey: ed25519.PublicKey(raw), Operator: operator, Region: region, AdmittedAt: now}, nil
}

// TokenAddrs picks the addresses a join token carries: routable ones
// first, loopback last, at most federation.MaxBootstrapAddrs.
func TokenAddrs(addrs []string) []string {
	var out, loop []string
	for _, a := range addrs {
		if strings.HasPrefix(a, "/ip4/127.") || strings.HasPrefix(a, "/ip6/::1/") {
			loop = append(loop, a)
		} else {
			out = append(out, a)
		}
	}
	out = append(out, loop...)
	return out[:min(len(out), federation.MaxBootstrapAddrs)]
}
